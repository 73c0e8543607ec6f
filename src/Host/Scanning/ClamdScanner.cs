using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Scanning;

/// <summary>Where clamd listens: <c>unix:/run/clamav/clamd.ctl</c> or <c>tcp:127.0.0.1:3310</c>.</summary>
public sealed class ClamdEndpoint
{
    private ClamdEndpoint(string text, EndPoint endPoint)
    {
        Text = text;
        EndPoint = endPoint;
    }

    /// <summary>The address as configured.</summary>
    public string Text { get; }

    /// <summary>The socket address.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>Parses <c>unix:/absolute/path</c> or <c>tcp:host:port</c> (IPv6 literals in brackets).</summary>
    /// <exception cref="FormatException">The text is neither form.</exception>
    public static ClamdEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var value = text.Trim();
        if (value.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            var path = value[5..];
            if (!Path.IsPathFullyQualified(path))
            {
                throw new FormatException($"clamd address '{text}': the Unix socket path must be absolute, e.g. unix:/run/clamav/clamd.ctl.");
            }

            return new ClamdEndpoint(value, new UnixDomainSocketEndPoint(path));
        }

        if (value.StartsWith("tcp:", StringComparison.OrdinalIgnoreCase))
        {
            var rest = value[4..];
            var colon = rest.LastIndexOf(':');
            if (colon > 0 && int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535)
            {
                var host = rest[..colon].Trim('[', ']');
                EndPoint endPoint = IPAddress.TryParse(host, out var address) ? new IPEndPoint(address, port) : new DnsEndPoint(host, port);
                return new ClamdEndpoint(value, endPoint);
            }
        }

        throw new FormatException($"clamd address '{text}' is not unix:/path/to/clamd.ctl or tcp:host:port (for example tcp:127.0.0.1:3310).");
    }

    /// <inheritdoc />
    public override string ToString() => Text;
}

/// <summary>Timeouts and framing of the clamd client.</summary>
public sealed class ClamdOptions
{
    /// <summary>Time to establish the connection.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Time any one send may block (clamd not reading).</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Time to wait for the verdict after the last byte was sent (clamd's own MaxScanTime is 2 minutes by default).</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Bytes per INSTREAM chunk; clamd accumulates chunks up to its StreamMaxLength, so any size below it works.</summary>
    public int ChunkBytes { get; init; } = 256 * 1024;

    /// <summary>How long the VERSION reply (engine and signature database) is reused.</summary>
    public TimeSpan VersionCacheTime { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// ClamAV through clamd's socket protocol (docs/content-security.md, "clamav"): the plaintext is streamed with
/// <c>zINSTREAM</c> in length-prefixed chunks (4-byte big-endian length, zero-length terminator) and never written to disk
/// by TurboMft; the reply <c>stream: OK</c> is clean, <c>stream: &lt;signature&gt; FOUND</c> a finding named by the signature.
/// Unreachable clamd, timeouts, <c>… ERROR</c> replies (such as <c>INSTREAM size limit exceeded</c>) and ClamAV's
/// <c>Heuristics.Limits.Exceeded</c> alerts (a file clamd did not scan whole) are Error verdicts: the file is held.
/// </summary>
public sealed class ClamdScanner : IContentScanner
{
    /// <summary>The scanner's name in verdicts.</summary>
    public const string ScannerName = "clamav";

    private const int MaxReplyBytes = 4096;
    private readonly ClamdOptions _options;
    private readonly TimeProvider _time;
    private volatile CachedVersion? _version;

    /// <summary>Creates a client of the clamd at <paramref name="endpoint"/>.</summary>
    public ClamdScanner(ClamdEndpoint endpoint, ClamdOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        Endpoint = endpoint;
        _options = options ?? new ClamdOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.ChunkBytes, 1024, nameof(options));
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The clamd address.</summary>
    public ClamdEndpoint Endpoint { get; }

    /// <inheritdoc />
    public string Name => ScannerName;

    /// <summary>True when clamd answers <c>PING</c> with <c>PONG</c>.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await CommandAsync("zPING\0"u8.ToArray(), cancellationToken).ConfigureAwait(false) == "PONG";
        }
        catch (Exception e) when (e is ClamdException or SocketException or IOException)
        {
            return false;
        }
    }

    /// <summary>clamd's <c>VERSION</c> reply, e.g. <c>ClamAV 1.4.6/27520/Tue Jan 13 09:25:46 2026</c>, cached for <see cref="ClamdOptions.VersionCacheTime"/>.</summary>
    /// <exception cref="ClamdException">clamd is unreachable or did not answer in time.</exception>
    public async Task<string> GetVersionAsync(CancellationToken cancellationToken)
    {
        var cached = _version;
        var now = _time.GetTimestamp();
        if (cached is not null && _time.GetElapsedTime(cached.Fetched, now) < _options.VersionCacheTime)
        {
            return cached.Version;
        }

        var version = await CommandAsync("zVERSION\0"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        _version = new CachedVersion(version, now);
        return version;
    }

    /// <inheritdoc />
    public async Task<ScanVerdict> ScanAsync(ScanSubject subject, Func<Stream> openPlaintext, AreaContentPolicy policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(openPlaintext);
        string version;
        try
        {
            version = await GetVersionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ClamdException e)
        {
            return Error(_version?.Version ?? "unavailable", e.Message);
        }

        var stream = openPlaintext();
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                return Interpret(version, await InstreamAsync(stream, cancellationToken).ConfigureAwait(false));
            }
            catch (ClamdException e)
            {
                return Error(version, e.Message);
            }
        }
    }

    /// <summary>Turns a reply to INSTREAM into a verdict.</summary>
    internal static ScanVerdict Interpret(string version, InstreamReply reply)
    {
        var text = reply.Text;
        if (text.Contains("size limit exceeded", StringComparison.OrdinalIgnoreCase))
        {
            return Error(version, $"clamd refused the stream after {reply.BytesSent} bytes: '{text}' (its StreamMaxLength is smaller than the file); raise StreamMaxLength, MaxFileSize and MaxScanSize in clamd.conf to at least the largest file, or the file stays held.");
        }

        if (text.EndsWith(" FOUND", StringComparison.Ordinal))
        {
            var signature = text[..^" FOUND".Length];
            signature = signature.StartsWith("stream: ", StringComparison.Ordinal) ? signature["stream: ".Length..] : signature;
            if (signature.StartsWith("Heuristics.Limits.Exceeded", StringComparison.Ordinal))
            {
                return Error(version, $"clamd did not scan the whole file ({signature}); raise MaxFileSize, MaxScanSize, MaxRecursion or MaxScanTime in clamd.conf, or the file stays held.");
            }

            // ExtendedDetectionInfo (on in Debian's clamd.conf) appends "(hash:size)"; the finding is the signature name.
            var extended = signature.EndsWith(')') ? signature.LastIndexOf('(') : -1;
            return extended > 0
                ? new ScanVerdict(ScannerName, version, ScanOutcome.Infected, signature[..extended], $"ClamAV signature match {signature[extended..]}")
                : new ScanVerdict(ScannerName, version, ScanOutcome.Infected, signature, "ClamAV signature match");
        }

        if (text.EndsWith("ERROR", StringComparison.Ordinal))
        {
            return Error(version, $"clamd could not scan the file: '{text}'.");
        }

        if (text == "stream: OK")
        {
            return reply.Complete
                ? new ScanVerdict(ScannerName, version, ScanOutcome.Clean)
                : Error(version, $"clamd answered OK after only {reply.BytesSent} bytes; the connection broke before the whole file was sent.");
        }

        return Error(version, $"unexpected reply from clamd: '{text}'.");
    }

    private static ScanVerdict Error(string version, string detail) => new(ScannerName, version, ScanOutcome.Error, Detail: detail);

    private async Task<InstreamReply> InstreamAsync(Stream content, CancellationToken cancellationToken)
    {
        using var io = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var connection = await ConnectAsync(io, cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(_options.ChunkBytes + 4);
        long sent = 0;
        try
        {
            await SendAsync(connection, "zINSTREAM\0"u8.ToArray(), io, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                var read = await content.ReadAtLeastAsync(buffer.AsMemory(4, _options.ChunkBytes), _options.ChunkBytes, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                BinaryPrimitives.WriteUInt32BigEndian(buffer, (uint)read);
                await SendAsync(connection, buffer.AsMemory(0, read + 4), io, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                sent += read;
            }
        }
        catch (ClamdSendException e)
        {
            // clamd closes the connection when it refuses the stream (size limit): its reply says why.
            var early = await TryReadReplyAsync(connection, TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            return early is null
                ? throw new ClamdException($"the connection to clamd at {Endpoint} broke after {sent} bytes: {e.Message}")
                : new InstreamReply(early, sent, Complete: false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        io.CancelAfter(_options.ReplyTimeout);
        try
        {
            return new InstreamReply(await ReadReplyAsync(connection, io.Token).ConfigureAwait(false), sent, Complete: true);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ClamdException($"clamd at {Endpoint} gave no verdict within {_options.ReplyTimeout.TotalSeconds:0.#} s of the end of the stream ({sent} bytes).");
        }
        catch (IOException e)
        {
            throw new ClamdException($"clamd at {Endpoint} closed the connection without a verdict after {sent} bytes: {e.Message}");
        }
    }

    private async Task<string> CommandAsync(byte[] command, CancellationToken cancellationToken)
    {
        using var io = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var connection = await ConnectAsync(io, cancellationToken).ConfigureAwait(false);
        try
        {
            await SendAsync(connection, command, io, cancellationToken).ConfigureAwait(false);
        }
        catch (ClamdSendException e)
        {
            throw new ClamdException($"clamd at {Endpoint} closed the connection: {e.Message}");
        }

        io.CancelAfter(_options.SendTimeout);
        try
        {
            return await ReadReplyAsync(connection, io.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ClamdException($"clamd at {Endpoint} did not answer within {_options.SendTimeout.TotalSeconds:0.#} s.");
        }
        catch (IOException e)
        {
            throw new ClamdException($"clamd at {Endpoint} closed the connection: {e.Message}");
        }
    }

    private async Task<NetworkStream> ConnectAsync(CancellationTokenSource io, CancellationToken cancellationToken)
    {
        var socket = Endpoint.EndPoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            io.CancelAfter(_options.ConnectTimeout);
            await socket.ConnectAsync(Endpoint.EndPoint, io.Token).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new ClamdException($"clamd at {Endpoint} did not accept a connection within {_options.ConnectTimeout.TotalSeconds:0.#} s; the file stays held until it is back.");
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ClamdException($"clamd at {Endpoint} is not reachable ({e.SocketErrorCode}: {e.Message}); the file stays held until it is back.");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task SendAsync(NetworkStream connection, ReadOnlyMemory<byte> bytes, CancellationTokenSource io, CancellationToken cancellationToken)
    {
        io.CancelAfter(_options.SendTimeout);
        try
        {
            await connection.WriteAsync(bytes, io.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ClamdException($"clamd at {Endpoint} stopped reading: a send blocked for {_options.SendTimeout.TotalSeconds:0.#} s.");
        }
        catch (IOException e)
        {
            throw new ClamdSendException(e.Message);
        }
    }

    private static async Task<string?> TryReadReplyAsync(NetworkStream connection, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(timeout);
        try
        {
            var reply = await ReadReplyAsync(connection, wait.Token).ConfigureAwait(false);
            return reply.Length == 0 ? null : reply;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Reads one NUL-terminated reply (or up to the connection's end), at most <see cref="MaxReplyBytes"/>.</summary>
    private static async Task<string> ReadReplyAsync(NetworkStream connection, CancellationToken cancellationToken)
    {
        var reply = new byte[MaxReplyBytes];
        var length = 0;
        while (length < reply.Length)
        {
            var read = await connection.ReadAsync(reply.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            var nul = reply.AsSpan(length, read).IndexOf((byte)0);
            if (nul >= 0)
            {
                length += nul;
                break;
            }

            length += read;
        }

        return Encoding.UTF8.GetString(reply, 0, length).Trim();
    }

    private sealed record CachedVersion(string Version, long Fetched);
}

/// <summary>clamd's reply to one INSTREAM.</summary>
/// <param name="Text">The reply without its NUL terminator, e.g. <c>stream: OK</c>.</param>
/// <param name="BytesSent">File bytes sent before the reply.</param>
/// <param name="Complete">Whether the whole file and the terminator were sent.</param>
internal sealed record InstreamReply(string Text, long BytesSent, bool Complete);

/// <summary>clamd could not be used (unreachable, timed out, closed the connection); becomes an Error verdict.</summary>
public sealed class ClamdException(string message) : Exception(message);

/// <summary>A send to clamd failed: the connection was closed, perhaps after a reply that explains why.</summary>
internal sealed class ClamdSendException(string message) : Exception(message);
