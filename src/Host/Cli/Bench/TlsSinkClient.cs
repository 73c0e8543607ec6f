using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace TurboMft.Host.Cli.Bench;

/// <summary>The sender for <see cref="TlsSink"/>: N TLS 1.3 connections, each writing its share of the bytes through <see cref="SslStream"/>.</summary>
internal static class TlsSinkClient
{
    /// <summary>Bytes handed to <see cref="SslStream.WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/> per call.</summary>
    public const int WriteSize = 1 << 20;

    /// <summary>
    /// Sends <paramref name="totalBytes"/> split over <paramref name="connections"/> connections and waits until the sink
    /// has confirmed every byte; the time includes the TLS handshakes, as a transfer's does.
    /// </summary>
    public static async Task<SinkRun> SendAsync(IPEndPoint endpoint, int connections, long totalBytes, CancellationToken cancellationToken)
    {
        var payload = new byte[WriteSize];
        Random.Shared.NextBytes(payload);
        var started = Stopwatch.GetTimestamp();
        var shares = Enumerable.Range(0, connections).Select(i => totalBytes / connections + (i < totalBytes % connections ? 1 : 0)).ToArray();
        var confirmed = await Task.WhenAll(shares.Select(share => SendOneAsync(endpoint, share, payload, cancellationToken))).ConfigureAwait(false);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (confirmed.Sum() != totalBytes)
        {
            throw new IOException($"The sink confirmed {confirmed.Sum()} bytes of {totalBytes}.");
        }

        return new SinkRun(totalBytes, connections, seconds);
    }

    private static async Task<long> SendOneAsync(IPEndPoint endpoint, long bytes, byte[] payload, CancellationToken cancellationToken)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
        var network = new NetworkStream(socket, ownsSocket: false);
        // Benchmark only: the sink's certificate is a throwaway on loopback, so it is not validated.
        var tls = new SslStream(network, leaveInnerStreamOpen: true, (_, _, _, _) => true);
        await using (tls.ConfigureAwait(false))
        {
            await tls.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions { TargetHost = "localhost", EnabledSslProtocols = SslProtocols.Tls13 },
                cancellationToken).ConfigureAwait(false);
            for (var left = bytes; left > 0; left -= Math.Min(left, payload.Length))
            {
                await tls.WriteAsync(payload.AsMemory(0, (int)Math.Min(left, payload.Length)), cancellationToken).ConfigureAwait(false);
            }

            await tls.ShutdownAsync().ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            var answer = new byte[sizeof(long)];
            await tls.ReadExactlyAsync(answer, cancellationToken).ConfigureAwait(false);
            return BinaryPrimitives.ReadInt64BigEndian(answer);
        }
    }
}

/// <summary>One sink-client run: bytes confirmed by the sink, over how many connections, in how long.</summary>
internal sealed record SinkRun(long Bytes, int Connections, double Seconds)
{
    /// <summary>Throughput in 10^6 bytes per second, as <c>turbomft push --json</c> reports it.</summary>
    public double ThroughputMBps => Bytes / Seconds / 1e6;
}
