using System.Security.Cryptography;
using System.Text;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Native;

namespace TurboMft.Host.Infrastructure;

/// <summary>
/// The server's data directory. The first start on an empty directory creates the TLS certificate, the master key, the
/// audit key and the admin token (all 0600); later starts load them. Layout in docs/operations.md.
/// </summary>
public sealed class DataDirectory
{
    private DataDirectory(string root)
    {
        Root = root;
    }

    /// <summary>Absolute path of the directory.</summary>
    public string Root { get; }

    /// <summary>PEM certificate.</summary>
    public string CertificatePath => Path.Combine(Root, "tls", "server.crt");

    /// <summary>PEM private key (0600).</summary>
    public string CertificateKeyPath => Path.Combine(Root, "tls", "server.key");

    /// <summary>The node's client certificate (PEM), presented to peer sites when replicating (docs/replication.md).</summary>
    public string NodeCertificatePath => Path.Combine(Root, "tls", "node.crt");

    /// <summary>The node certificate's private key (0600).</summary>
    public string NodeKeyPath => Path.Combine(Root, "tls", "node.key");

    /// <summary>Master key file (0600), unless <c>TURBOMFT_MASTER_KEY</c> is set.</summary>
    public string MasterKeyPath => Path.Combine(Root, "keys", "master.key");

    /// <summary>Audit HMAC key file (0600), kept apart from the master key, unless <c>TURBOMFT_AUDIT_KEY</c> is set (docs/audit.md, "Key").</summary>
    public string AuditKeyPath => Path.Combine(Root, "keys", "audit.key");

    /// <summary>The audit log directory (docs/audit.md).</summary>
    public string AuditPath => Path.Combine(Root, "audit");

    /// <summary>Admin API token (0600).</summary>
    public string AdminTokenPath => Path.Combine(Root, "admin.token");

    /// <summary>SQLite metadata database.</summary>
    public string MetadataPath => Path.Combine(Root, "metadata.db");

    /// <summary>SQLite access database: users, tokens, roles, grants, peers (docs/security.md).</summary>
    public string AccessPath => Path.Combine(Root, "access.db");

    /// <summary>Object store root (staging and objects).</summary>
    public string StorePath => Path.Combine(Root, "store");

    /// <summary>What the last <see cref="Open"/> created, for the start-up message.</summary>
    public IReadOnlyList<string> Created { get; private set; } = [];

    /// <summary>Opens <paramref name="path"/>, creating whatever a first start needs.</summary>
    public static DataDirectory Open(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException("No data directory: pass --data DIR or set TURBOMFT_DATA.");
        }

        var directory = new DataDirectory(Path.GetFullPath(path));
        var created = new List<string>();
        CreateOwnerOnlyDirectory(directory.Root);
        CreateOwnerOnlyDirectory(Path.Combine(directory.Root, "tls"));
        CreateOwnerOnlyDirectory(Path.Combine(directory.Root, "keys"));
        if (!File.Exists(directory.CertificatePath))
        {
            TlsCertificate.CreateSelfSigned(directory.CertificatePath, directory.CertificateKeyPath);
            created.Add("TLS certificate");
        }

        if (KeyRing.FromEnvironment() is { } fromEnvironment)
        {
            fromEnvironment.Dispose();
        }
        else if (!File.Exists(directory.MasterKeyPath))
        {
            KeyRing.CreateKeyFile(directory.MasterKeyPath).Dispose();
            created.Add("master key");
        }

        if (AuditKey.FromEnvironment() is { } auditFromEnvironment)
        {
            auditFromEnvironment.Dispose();
        }
        else if (!File.Exists(directory.AuditKeyPath))
        {
            AuditKey.CreateKeyFile(directory.AuditKeyPath);
            created.Add("audit key");
        }

        if (!File.Exists(directory.AdminTokenPath))
        {
            using var stream = DurableFileSystem.CreateOwnerOnly(directory.AdminTokenPath);
            stream.Write(Encoding.ASCII.GetBytes(NewToken() + "\n"));
            stream.Flush(flushToDisk: true);
            created.Add("admin token");
        }

        directory.Created = created;
        return directory;
    }

    /// <summary>
    /// Opens an existing data directory without creating anything, for offline commands (<c>audit verify</c>, <c>keys rotate</c>).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">There is no directory at <paramref name="path"/>.</exception>
    public static DataDirectory OpenExisting(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException("No data directory: pass --data DIR or set TURBOMFT_DATA.");
        }

        var root = Path.GetFullPath(path);
        return Directory.Exists(root)
            ? new DataDirectory(root)
            : throw new DirectoryNotFoundException($"No data directory at {root}: check --data (a server creates it on its first start).");
    }

    /// <summary>
    /// Creates the node certificate (CN = <paramref name="site"/>) when it is missing, also in a data directory made before
    /// replication existed; returns true when it did. An existing certificate is kept whatever its CN (its pin is what peers trust).
    /// </summary>
    public bool EnsureNodeCertificate(string site)
    {
        if (File.Exists(NodeCertificatePath) && File.Exists(NodeKeyPath))
        {
            return false;
        }

        File.Delete(NodeKeyPath);
        TlsCertificate.CreateNodeCertificate(NodeCertificatePath, NodeKeyPath, site);
        return true;
    }

    /// <summary>Loads the node certificate with its key, refusing a key file others can read.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2 LoadNodeCertificate() => TlsCertificate.Load(NodeCertificatePath, NodeKeyPath);

    /// <summary>Loads the audit key: <c>TURBOMFT_AUDIT_KEY</c> if set, else the key file (refused if others can read it).</summary>
    /// <exception cref="AuditKeyException">The key is missing, unsafe or malformed.</exception>
    public AuditKey LoadAuditKey() => AuditKey.FromEnvironment() ?? AuditKey.LoadKeyFile(AuditKeyPath);

    /// <summary>Loads the node's key ring: <c>TURBOMFT_MASTER_KEY</c> if set, else the key file.</summary>
    public KeyRing LoadKeyRing() => KeyRing.FromEnvironment() ?? KeyRing.LoadKeyFile(MasterKeyPath);

    /// <summary>Reads the admin token, refusing a file others can read.</summary>
    public string ReadAdminToken()
    {
        if (!OperatingSystem.IsWindows() && !DurableFileSystem.IsOwnerOnly(AdminTokenPath))
        {
            throw new IOException($"'{AdminTokenPath}' is readable by other users; run: chmod 600 {AdminTokenPath}");
        }

        return File.ReadAllText(AdminTokenPath).Trim();
    }

    /// <summary>A new API token: "tmf_" and 256 random bits in base64url.</summary>
    public static string NewToken() => "tmf_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Creates a directory (and its parents) 0700.</summary>
    internal static void CreateOwnerOnlyDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
