using System.Diagnostics;
using TurboMft.Host.Metadata;
using TurboMft.Host.Metrics;
using TurboMft.Host.Release;

namespace TurboMft.Host.Tests.Metrics;

public sealed class TransferMetricsTests
{
    [Fact]
    public void Updates_on_the_chunk_path_allocate_nothing()
    {
        var server = new ServerMetrics();
        var transfers = new TransferMetrics(server);
        var scans = new ScanMetrics(server);
        Exercise(transfers, scans, 100);

        var before = GC.GetAllocatedBytesForCurrentThread();
        Exercise(transfers, scans, 10_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task Each_update_lands_in_its_own_labelled_series()
    {
        var server = new ServerMetrics();
        var transfers = new TransferMetrics(server);
        transfers.UploadEnded(UploadOutcome.Expired, 7);
        transfers.DownloadEnded(DownloadOutcome.Failed, 11);
        transfers.VerificationFailed(VerificationCheck.FileSize);
        transfers.BytesHeld(TransferDirection.Download, 5);
        using var text = new MemoryStream();

        await server.Registry.CollectAndExportAsTextAsync(text, TestContext.Current.CancellationToken);
        var exposition = System.Text.Encoding.UTF8.GetString(text.ToArray());

        Assert.Contains("turbomft_transfers_total{direction=\"upload\",outcome=\"expired\"} 1\n", exposition, StringComparison.Ordinal);
        Assert.Contains("turbomft_transfer_bytes_total{direction=\"upload\",outcome=\"expired\"} 7\n", exposition, StringComparison.Ordinal);
        Assert.Contains("turbomft_transfer_bytes_total{direction=\"download\",outcome=\"failed\"} 11\n", exposition, StringComparison.Ordinal);
        Assert.Contains("turbomft_transfer_bytes_total{direction=\"upload\",outcome=\"committed\"} 0\n", exposition, StringComparison.Ordinal);
        Assert.Contains("turbomft_verification_failures_total{check=\"file-size\"} 1\n", exposition, StringComparison.Ordinal);
        Assert.Contains("turbomft_bytes_in_flight{direction=\"download\"} 5\n", exposition, StringComparison.Ordinal);
        Assert.Contains("turbomft_bytes_in_flight{direction=\"upload\"} 0\n", exposition, StringComparison.Ordinal);
    }

    private static void Exercise(TransferMetrics transfers, ScanMetrics scans, int times)
    {
        for (var i = 0; i < times; i++)
        {
            var started = Stopwatch.GetTimestamp();
            transfers.BytesHeld(TransferDirection.Upload, 4 << 20);
            transfers.ChunkHandled(TransferDirection.Upload, started);
            transfers.BytesReleased(TransferDirection.Upload, 4 << 20);
            transfers.BytesHeld(TransferDirection.Download, 4 << 20);
            transfers.ChunkHandled(TransferDirection.Download, started);
            transfers.BytesReleased(TransferDirection.Download, 4 << 20);
            transfers.VerificationFailed(VerificationCheck.ChunkCrc);
            transfers.UploadEnded(UploadOutcome.Committed, 4 << 20);
            transfers.DownloadEnded(DownloadOutcome.Completed, 4 << 20);
            scans.Scanned(ScanOutcome.Clean, TimeSpan.FromMilliseconds(3));
        }
    }
}
