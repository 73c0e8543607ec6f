using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Client;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;

namespace TurboMft.Fuzz.Targets;

/// <summary>
/// What a peer answers a pulling replication node (src/Host/Replication/PullReplicator.cs), read by the client SDK's
/// <see cref="ServerAnswers"/> (src/Engine/Client/ServerAnswers.cs). Input: a first line naming the answer, then its body:
/// <c>list</c> and a <c>GET /v1/files?prefix=</c> JSON body (<see cref="ServerAnswers.ReadListing"/>); <c>info</c> and a
/// <c>GET /v1/info</c> JSON body (<see cref="ServerAnswers.ReadInfo"/>, <see cref="ServerAnswers.SiteOf"/>); <c>head</c> and
/// the <c>Name: value</c> header lines of a <c>HEAD /v1/files/…</c> answer, version and provenance
/// (<see cref="ServerAnswers.ReadFileState"/>); <c>problem STATUS [TMF-Release-State]</c> and the
/// <c>application/problem+json</c> body of an error answer (<see cref="ServerAnswers.ReadProblem"/>). Expected:
/// <see cref="TransferException"/>. What is accepted must be what the pulling node can act on: listed files not null,
/// with canonical, distinct paths, sizes of 0 or more and a <c>sha256-tree</c> digest or none; a site the node can send
/// as provenance; a chunk size of 0 (not said) or a valid one, provenance the node's own server would take when relayed;
/// a problem with the answer's status.
/// </summary>
public sealed class PeerAnswersTarget : FuzzTarget
{
    /// <summary>What a problem answer is said to answer.</summary>
    public const string ProblemRequest = "HEAD /v1/files/export/a.csv";

    /// <inheritdoc />
    public override string Name => "peer-answers";

    /// <inheritdoc />
    public override string Description => "a peer's answers to a pulling node: listing and info JSON, HEAD version and provenance headers, problem JSON";

    /// <summary>The input for the answer named <paramref name="answer"/> (<c>list</c>, <c>info</c>, <c>head</c>, <c>problem 404</c>) with <paramref name="body"/>.</summary>
    public static byte[] Frame(string answer, string body) => Encoding.UTF8.GetBytes(answer + "\n" + body);

    /// <inheritdoc />
    public override FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        var newline = input.IndexOf((byte)'\n');
        var answer = newline < 0 ? string.Empty : Encoding.UTF8.GetString(input[..newline]);
        var body = newline < 0 ? [] : input[(newline + 1)..];
        try
        {
            switch (answer.Split(' '))
            {
                case ["list"]:
                    Listing(ServerAnswers.ReadListing(body));
                    break;
                case ["info"]:
                    Site(ServerAnswers.SiteOf(ServerAnswers.ReadInfo(body)));
                    break;
                case ["head"]:
                    FileState(ProvenanceTarget.Lines(body));
                    break;
                case ["problem", var status, .. var state] when state.Length <= 1 && int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 400 and <= 599:
                    var problem = ServerAnswers.ReadProblem(code, ProblemRequest, "application/problem+json", body, state.Length == 1 ? state[0] : null);
                    FuzzInvariantException.Check(problem.Status == code && problem.Message.StartsWith(ProblemRequest, StringComparison.Ordinal), "a problem without the answer's status or request");
                    break;
                default:
                    return FuzzOutcome.Refuse("no answer line (list, info, head, problem STATUS [STATE])");
            }

            return FuzzOutcome.Accept;
        }
        catch (TransferException e)
        {
            return FuzzOutcome.Refuse(e.Message);
        }
    }

    private static void Listing(IReadOnlyList<RemoteFile> files)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            FuzzInvariantException.Check(file is not null, "a listing with a null file");
            FuzzInvariantException.Check(file!.Path is not null && RemotePath.TryParse(file.Path, out var canonical, out _) && canonical.Value == file.Path, $"a listed path that is not canonical: '{file.Path}'");
            FuzzInvariantException.Check(paths.Add(file.Path!), $"a path listed twice: '{file.Path}'");
            FuzzInvariantException.Check(file.Size >= 0 && file.ChunkSize >= 0, $"a negative size or chunk size for '{file.Path}'");
            FuzzInvariantException.Check(file.Digest is null || FileDigest.TryParse(file.Digest, out _), $"a listed digest that is not sha256-tree: '{file.Digest}'");
        }
    }

    private static void Site(string? site)
    {
        if (site is null)
        {
            return;
        }

        // The pulling node's provenance for what it pulls names the peer's site (PullReplicator), so the site must be one
        // that provenance headers carry and a server reads back.
        var origin = new Provenance(site, "/a", DateTimeOffset.UnixEpoch, new FileDigest(new byte[SHA256.HashSizeInBytes]).ToString(), null);
        FuzzInvariantException.Check(ProvenanceTarget.TryRead([.. origin.ToHeaders()], out var read, out _) && read == origin, $"a site that provenance cannot carry: '{site}'");
    }

    private static void FileState(List<KeyValuePair<string, string>> lines)
    {
        string? First(string name) => lines.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
        long? length = long.TryParse(First("Content-Length"), NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : null;
        var etag = EntityTagHeaderValue.TryParse(First("ETag"), out var tag) ? tag.Tag : null;
        var state = ServerAnswers.ReadFileState("/export/a.csv", First, length, etag);
        FuzzInvariantException.Check(state.Size >= 0, "a negative size");
        FuzzInvariantException.Check(state.ChunkSize == 0 || ChunkGeometry.IsValid(state.ChunkSize), $"a chunk size that is not valid: {state.ChunkSize}");
        if (state.Provenance is { } origin)
        {
            FuzzInvariantException.Check(ProvenanceTarget.TryRead([.. origin.ToHeaders()], out var relayed, out _) && relayed == origin, "provenance that this node's server would refuse when relayed");
        }
    }
}
