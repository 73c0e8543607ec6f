using System.Buffers;
using System.Text;
using System.Text.Json;
using TurboMft.Engine.Storage;

namespace TurboMft.Host.Access;

/// <summary>A place in the policy file: 1-based line and column (in bytes from the start of the line).</summary>
public readonly record struct PolicyPosition(int Line, int Column)
{
    /// <inheritdoc />
    public override string ToString() => $"{Line}:{Column}";
}

/// <summary>A custom role the policy declares.</summary>
public sealed record PolicyRole(string Name, Permission Permissions, PolicyPosition At);

/// <summary>A user the policy declares (never a secret: passwords and tokens are set through the CLI or API).</summary>
public sealed record PolicyUser(string Name, bool Enabled, PolicyPosition At);

/// <summary>A peer the policy declares: exactly one of a pinned fingerprint and a CA-issued common name.</summary>
public sealed record PolicyPeer(string Name, string? Fingerprint, string? CommonName, bool Enabled, PolicyPosition At);

/// <summary>A grant the policy declares.</summary>
public sealed record PolicyGrant(RoleBinding Binding, PolicyPosition At);

/// <summary>A validated policy file (docs/security.md, "Policy file"): every name, permission, area and reference checked.</summary>
/// <param name="Path">The file, as given.</param>
/// <param name="Roles">Custom roles.</param>
/// <param name="Users">Users.</param>
/// <param name="Peers">Peers.</param>
/// <param name="Grants">Grants; each names a built-in role or one of <paramref name="Roles"/>, and one of the users or peers declared.</param>
public sealed record AccessPolicy(string Path, IReadOnlyList<PolicyRole> Roles, IReadOnlyList<PolicyUser> Users, IReadOnlyList<PolicyPeer> Peers, IReadOnlyList<PolicyGrant> Grants);

/// <summary>The policy file is not valid; <see cref="Exception.Message"/> is one line, <c>FILE:LINE:COLUMN: what is wrong</c>.</summary>
public sealed class PolicyFileException : Exception
{
    /// <summary>Creates the error.</summary>
    public PolicyFileException(string path, int line, int column, string problem, Exception? inner = null)
        : base($"{path}:{line}:{column}: {problem}", inner)
    {
        Path = path;
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>Creates the error.</summary>
    public PolicyFileException()
        : this("policy", 1, 1, "invalid policy")
    {
    }

    /// <summary>Creates the error.</summary>
    public PolicyFileException(string message)
        : this("policy", 1, 1, message)
    {
    }

    /// <summary>Creates the error.</summary>
    public PolicyFileException(string message, Exception inner)
        : this("policy", 1, 1, message, inner)
    {
    }

    /// <summary>The file, as given.</summary>
    public string Path { get; }

    /// <summary>1-based line.</summary>
    public int Line { get; }

    /// <summary>1-based column.</summary>
    public int Column { get; }

    /// <summary>What is wrong, without the position.</summary>
    public string Problem { get; }
}

/// <summary>
/// Reads and validates the JSON policy file (docs/security.md, "Policy file"): custom roles, users, peers and grants. Comments
/// and trailing commas are allowed; unknown properties are errors (a typo must not silently drop a rule). Every error names
/// the line and column of the offending token.
/// </summary>
public static class AccessPolicyFile
{
    /// <summary>Largest policy file read.</summary>
    public const int MaxBytes = 4 << 20;

    private static readonly string[] Sections = ["roles", "users", "peers", "grants"];

    /// <summary>Reads and validates <paramref name="path"/>.</summary>
    /// <exception cref="PolicyFileException">A syntax or semantic error, with its line and column.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static AccessPolicy Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Policy file '{path}' not found.", path);
        }

        if (new FileInfo(path).Length > MaxBytes)
        {
            throw new PolicyFileException(path, 1, 1, $"the file is larger than {MaxBytes >> 20} MiB");
        }

        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Validates policy JSON; <paramref name="path"/> names it in errors.</summary>
    /// <exception cref="PolicyFileException">A syntax or semantic error, with its line and column.</exception>
    public static AccessPolicy Parse(ReadOnlySpan<byte> json, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parser = new Parser(path, json.StartsWith("\uFEFF"u8) ? json[3..] : json);
        return parser.Run();
    }

    private sealed class Parser
    {
        private readonly string _path;
        private readonly byte[] _json;
        private readonly List<int> _lineStarts = [0];
        private readonly List<PolicyRole> _roles = [];
        private readonly List<PolicyUser> _users = [];
        private readonly List<PolicyPeer> _peers = [];
        private readonly List<(string Role, PolicyPosition RoleAt, string? User, string? Peer, PolicyPosition PrincipalAt, RemotePath Area, PolicyPosition At)> _grants = [];

        public Parser(string path, ReadOnlySpan<byte> json)
        {
            _path = path;
            _json = json.ToArray();
            for (var i = 0; i < _json.Length; i++)
            {
                if (_json[i] == (byte)'\n')
                {
                    _lineStarts.Add(i + 1);
                }
            }
        }

        public AccessPolicy Run()
        {
            // Utf8JsonReader checks UTF-8 only where it decodes a string, and there throws a bare DecoderFallbackException
            // (found by fuzzing: tests/TurboMft.Fuzz/corpus/policy/regressions/invalid-utf8-in-string.json); the file
            // must be UTF-8 throughout, so its first invalid byte is named here, with its line and column.
            var valid = 0;
            while (valid < _json.Length && Rune.DecodeFromUtf8(_json.AsSpan(valid), out _, out var consumed) == OperationStatus.Done)
            {
                valid += consumed;
            }

            if (valid < _json.Length)
            {
                throw Error(Position(valid), $"the file is not valid UTF-8 (byte 0x{_json[valid]:x2})");
            }

            var reader = new Utf8JsonReader(_json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 16 });
            try
            {
                ReadDocument(ref reader);
            }
            catch (JsonException e)
            {
                var line = (int)(e.LineNumber ?? 0) + 1;
                var column = (int)(e.BytePositionInLine ?? 0) + 1;
                throw new PolicyFileException(_path, line, column, "invalid JSON: " + JsonProblem(e.Message), e);
            }

            return Resolve();
        }

        private void ReadDocument(ref Utf8JsonReader reader)
        {
            if (!reader.Read())
            {
                throw Error(new PolicyPosition(1, 1), "the file is empty; expected a JSON object with roles, users, peers and grants");
            }

            ExpectStart(ref reader, JsonTokenType.StartObject, "the policy must be a JSON object with roles, users, peers and grants");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                var at = Position(reader);
                var name = reader.GetString()!;
                if (!Sections.Contains(name))
                {
                    throw Error(at, $"unknown property '{name}'; expected {string.Join(", ", Sections)}");
                }

                if (!seen.Add(name))
                {
                    throw Error(at, $"'{name}' appears twice");
                }

                Next(ref reader);
                ExpectStart(ref reader, JsonTokenType.StartArray, $"'{name}' must be an array");
                while (Next(ref reader) != JsonTokenType.EndArray)
                {
                    ExpectStart(ref reader, JsonTokenType.StartObject, $"each entry of '{name}' must be an object");
                    var entry = ReadEntry(ref reader, name);
                    switch (name)
                    {
                        case "roles":
                            AddRole(entry);
                            break;
                        case "users":
                            AddUser(entry);
                            break;
                        case "peers":
                            AddPeer(entry);
                            break;
                        default:
                            AddGrant(entry);
                            break;
                    }
                }
            }

            if (reader.Read())
            {
                throw Error(Position(reader), "unexpected content after the policy object");
            }
        }

        /// <summary>One flat object of string and boolean values, each with its position.</summary>
        private Entry ReadEntry(ref Utf8JsonReader reader, string section)
        {
            var entry = new Entry(Position(reader), section);
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                var at = Position(reader);
                var name = reader.GetString()!;
                if (!Entry.Allowed(section).Contains(name))
                {
                    throw Error(at, $"unknown property '{name}' in {Entry.Singular(section)}; expected {string.Join(", ", Entry.Allowed(section))}");
                }

                if (entry.Values.ContainsKey(name))
                {
                    throw Error(at, $"'{name}' appears twice in one {Entry.Singular(section)}");
                }

                var token = Next(ref reader);
                var valueAt = Position(reader);
                object value = token switch
                {
                    JsonTokenType.String => reader.GetString()!,
                    JsonTokenType.True => true,
                    JsonTokenType.False => false,
                    _ => throw Error(valueAt, name == "enabled" ? "'enabled' must be true or false" : $"'{name}' must be a string"),
                };
                if ((name == "enabled") != value is bool)
                {
                    throw Error(valueAt, name == "enabled" ? "'enabled' must be true or false" : $"'{name}' must be a string");
                }

                entry.Values[name] = (value, valueAt);
            }

            return entry;
        }

        private void AddRole(Entry entry)
        {
            var (name, nameAt) = entry.RequiredString("name", this);
            Check(nameAt, () => AccessNames.Validate(name, "Role"));
            if (AccessRole.BuiltIns.Any(r => r.Name == name))
            {
                throw Error(nameAt, $"'{name}' is a built-in role and cannot be redefined");
            }

            if (_roles.Any(r => r.Name == name))
            {
                throw Error(nameAt, $"role '{name}' is declared twice");
            }

            var (permissions, permissionsAt) = entry.RequiredString("permissions", this);
            _roles.Add(new PolicyRole(name, Check(permissionsAt, () => AccessParsing.ParsePermissions(permissions)), entry.At));
        }

        private void AddUser(Entry entry)
        {
            var (name, nameAt) = entry.RequiredString("name", this);
            Check(nameAt, () => AccessNames.Validate(name, "User"));
            if (_users.Any(u => u.Name == name))
            {
                throw Error(nameAt, $"user '{name}' is declared twice");
            }

            _users.Add(new PolicyUser(name, entry.Boolean("enabled") ?? true, entry.At));
        }

        private void AddPeer(Entry entry)
        {
            var (name, nameAt) = entry.RequiredString("name", this);
            Check(nameAt, () => AccessNames.Validate(name, "Peer"));
            if (_peers.Any(p => p.Name == name))
            {
                throw Error(nameAt, $"peer '{name}' is declared twice");
            }

            var fingerprint = entry.OptionalString("fingerprint");
            var commonName = entry.OptionalString("commonName");
            if ((fingerprint is null) == (commonName is null))
            {
                throw Error(entry.At, $"peer '{name}' needs exactly one of \"fingerprint\" (sha256:HEX) and \"commonName\"");
            }

            string? pin = null, cn = null;
            if (fingerprint is { } f)
            {
                pin = Check(f.At, () => AccessParsing.ParseFingerprint(f.Value));
                if (_peers.FirstOrDefault(p => p.Fingerprint == pin) is { } other)
                {
                    throw Error(f.At, $"peer '{other.Name}' already has this fingerprint");
                }
            }
            else if (commonName is { } c)
            {
                cn = Check(c.At, () => AccessParsing.ParseCommonName(c.Value));
                if (_peers.FirstOrDefault(p => p.CommonName == cn) is { } other)
                {
                    throw Error(c.At, $"peer '{other.Name}' already has this common name");
                }
            }

            _peers.Add(new PolicyPeer(name, pin, cn, entry.Boolean("enabled") ?? true, entry.At));
        }

        private void AddGrant(Entry entry)
        {
            var (role, roleAt) = entry.RequiredString("role", this);
            var user = entry.OptionalString("user");
            var peer = entry.OptionalString("peer");
            if ((user is null) == (peer is null))
            {
                throw Error(entry.At, "a grant needs exactly one of \"user\" and \"peer\"");
            }

            var principalAt = (user ?? peer)!.Value.At;
            var (area, areaAt) = entry.RequiredString("area", this);
            _grants.Add((role, roleAt, user?.Value, peer?.Value, principalAt, Check(areaAt, () => AccessParsing.ParseArea(area)), entry.At));
        }

        /// <summary>Checks the references between sections, now that all of them are read.</summary>
        private AccessPolicy Resolve()
        {
            var grants = new List<PolicyGrant>();
            foreach (var (role, roleAt, user, peer, principalAt, area, at) in _grants)
            {
                if (!AccessRole.BuiltIns.Any(r => r.Name == role) && !_roles.Any(r => r.Name == role))
                {
                    throw Error(roleAt, $"unknown role '{role}'; use a built-in role ({string.Join(", ", AccessRole.BuiltIns.Select(r => r.Name))}) or one declared under \"roles\"");
                }

                if (user is not null && !_users.Any(u => u.Name == user))
                {
                    throw Error(principalAt, $"unknown user '{user}'; declare it under \"users\"");
                }

                if (peer is not null && !_peers.Any(p => p.Name == peer))
                {
                    throw Error(principalAt, $"unknown peer '{peer}'; declare it under \"peers\"");
                }

                var binding = new RoleBinding(user is null ? PrincipalKind.Peer : PrincipalKind.User, (user ?? peer)!, role, area);
                if (grants.Any(g => g.Binding == binding))
                {
                    throw Error(at, $"this grant of '{role}' on {area.Value} is declared twice");
                }

                grants.Add(new PolicyGrant(binding, at));
            }

            return new AccessPolicy(_path, _roles, _users, _peers, grants);
        }

        private T Check<T>(PolicyPosition at, Func<T> parse)
        {
            try
            {
                return parse();
            }
            catch (AccessException e)
            {
                throw Error(at, LowerFirst(e.Message.TrimEnd('.')));
            }
        }

        public PolicyFileException Error(PolicyPosition at, string problem) => new(_path, at.Line, at.Column, problem);

        private PolicyPosition Position(in Utf8JsonReader reader) => Position((int)reader.TokenStartIndex);

        private PolicyPosition Position(int offset)
        {
            var line = _lineStarts.BinarySearch(offset);
            if (line < 0)
            {
                line = ~line - 1;
            }

            return new PolicyPosition(line + 1, offset - _lineStarts[line] + 1);
        }

        private static JsonTokenType Next(ref Utf8JsonReader reader)
        {
            // The reader throws JsonException for malformed JSON; a well-formed document cannot end inside an object.
            reader.Read();
            return reader.TokenType;
        }

        private void ExpectStart(ref Utf8JsonReader reader, JsonTokenType expected, string problem)
        {
            if (reader.TokenType != expected)
            {
                throw Error(Position(reader), problem);
            }
        }

        private static string LowerFirst(string text) => text.Length > 0 && char.IsUpper(text[0]) && (text.Length == 1 || !char.IsUpper(text[1]))
            ? char.ToLowerInvariant(text[0]) + text[1..]
            : text;

        private static string JsonProblem(string message)
        {
            // System.Text.Json appends its own "LineNumber: … | BytePositionInLine: …"; the position is already in front.
            var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            return (cut > 0 ? message[..cut] : message).TrimEnd(' ', '.');
        }
    }

    private sealed class Entry(PolicyPosition at, string section)
    {
        public PolicyPosition At { get; } = at;

        public Dictionary<string, (object Value, PolicyPosition At)> Values { get; } = new(StringComparer.Ordinal);

        public static string[] Allowed(string section) => section switch
        {
            "roles" => ["name", "permissions"],
            "users" => ["name", "enabled"],
            "peers" => ["name", "fingerprint", "commonName", "enabled"],
            _ => ["role", "user", "peer", "area"],
        };

        public static string Singular(string section) => section switch
        {
            "roles" => "role",
            "users" => "user",
            "peers" => "peer",
            _ => "grant",
        };

        public (string Value, PolicyPosition At) RequiredString(string name, Parser parser) =>
            OptionalString(name) ?? throw parser.Error(At, $"this {Singular(section)} needs \"{name}\"");

        public (string Value, PolicyPosition At)? OptionalString(string name) =>
            Values.TryGetValue(name, out var v) ? ((string)v.Value, v.At) : null;

        public bool? Boolean(string name) => Values.TryGetValue(name, out var v) ? (bool)v.Value : null;
    }
}
