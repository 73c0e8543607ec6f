using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TurboMft.Engine.Client;

/// <summary>
/// What an interrupted upload needs to continue: which server session belongs to this local file as it is now. A record
/// only matches while the file's size and modification time, the server, the remote path and the chunk size are unchanged.
/// </summary>
/// <param name="LocalPath">Full local path.</param>
/// <param name="Size">File size when the session was opened.</param>
/// <param name="ModifiedUtcTicks">Last write time (UTC ticks) when the session was opened.</param>
/// <param name="Server">The server's base address.</param>
/// <param name="RemotePath">The canonical remote path.</param>
/// <param name="ChunkSize">Chunk size of the session.</param>
/// <param name="UploadId">The server's upload session id.</param>
public sealed record ResumeRecord(string LocalPath, long Size, long ModifiedUtcTicks, string Server, string RemotePath, int ChunkSize, string UploadId);

/// <summary>
/// Resume records, one small JSON file per (local file, server, remote path, chunk size), kept under
/// <c>$XDG_CACHE_HOME/turbomft/uploads</c> (default <c>~/.cache/turbomft/uploads</c>), not beside the source, which may be
/// read-only or shared. A record is written before the first chunk is sent and removed when the upload commits.
/// </summary>
public sealed class ResumeStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Uses <paramref name="directory"/>, or <see cref="DefaultDirectory"/> when null.</summary>
    public ResumeStore(string? directory = null) => Directory = directory ?? DefaultDirectory;

    /// <summary>Where the records live.</summary>
    public string Directory { get; }

    /// <summary><c>$XDG_CACHE_HOME/turbomft/uploads</c>, else <c>~/.cache/turbomft/uploads</c>.</summary>
    public static string DefaultDirectory
    {
        get
        {
            var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (string.IsNullOrEmpty(cache))
            {
                cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            }

            return Path.Combine(cache, "turbomft", "uploads");
        }
    }

    /// <summary>The record matching this exact upload, or null (also when the record file is unreadable or stale).</summary>
    public ResumeRecord? Find(string localPath, long size, long modifiedUtcTicks, Uri server, string remotePath, int chunkSize)
    {
        var file = FileFor(localPath, server, remotePath, chunkSize);
        try
        {
            var record = JsonSerializer.Deserialize<ResumeRecord>(File.ReadAllText(file), Json);
            return record is not null && record.Size == size && record.ModifiedUtcTicks == modifiedUtcTicks && !string.IsNullOrEmpty(record.UploadId)
                ? record
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Writes (atomically replaces) the record for its upload.</summary>
    public void Save(ResumeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        System.IO.Directory.CreateDirectory(Directory);
        var file = FileFor(record.LocalPath, new Uri(record.Server), record.RemotePath, record.ChunkSize);
        var temporary = file + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(record, Json));
        File.Move(temporary, file, overwrite: true);
    }

    /// <summary>Forgets the record for this upload, if any.</summary>
    public void Remove(string localPath, Uri server, string remotePath, int chunkSize)
    {
        File.Delete(FileFor(localPath, server, remotePath, chunkSize));
    }

    private string FileFor(string localPath, Uri server, string remotePath, int chunkSize)
    {
        var key = string.Join('\n', Path.GetFullPath(localPath), server.GetLeftPart(UriPartial.Authority), remotePath, chunkSize);
        var name = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 16));
        return Path.Combine(Directory, name + ".json");
    }
}
