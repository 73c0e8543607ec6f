using System.Net.Sockets;
using System.Security.Authentication;
using TurboMft.Engine.Client;
using TurboMft.Host.Tests.Server;
using TurboMft.Load.Recording;
using TurboMft.Load.Target;
using TurboMft.Load.Workload;

namespace TurboMft.Host.Tests.Load;

public class FailureKindsTests
{
    public static TheoryData<Exception, string> Failures => new()
    {
        { new ServerAnswerException(Operations.ChunkPut, 500, "internal"), "http 500 internal" },
        { new ServerAnswerException(Operations.Head, 502, null), "http 502" },
        { new RequestTimeoutException(Operations.RangeGet, TimeSpan.FromSeconds(1), new TaskCanceledException()), "timeout" },
        { new HttpRequestException(HttpRequestError.ConnectionError, "refused", new SocketException((int)SocketError.ConnectionRefused)), "connection refused" },
        { new HttpRequestException(HttpRequestError.SecureConnectionError, "handshake"), "tls" },
        { new HttpRequestException("copy failed", new AuthenticationException("bad certificate")), "tls" },
        { new HttpRequestException(HttpRequestError.ResponseEnded, "ended"), "connection reset" },
        { new IOException("reset", new SocketException((int)SocketError.ConnectionReset)), "connection reset" },
        { new ContentMismatchException("differs"), "content mismatch" },
        { new OperationFailedException(Operations.Complete, new ServerAnswerException(Operations.Complete, 409, "chunks-missing")), "http 409 chunks-missing" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Failures_are_sorted_into_the_kinds_a_report_counts(Exception failure, string kind) => Assert.Equal(kind, FailureKinds.Classify(failure));

    [Fact]
    public async Task A_refused_request_fails_its_operation_with_the_status_and_problem_type_and_is_not_timed()
    {
        await using var server = await ServerFixture.StartAsync();
        var target = new LoadTarget(server.Address, "not-a-token", CertificatePin.Parse(server.Server.Fingerprint), null, null);
        var payload = Payload.Create(Engine.Datasets.DatasetKind.Random, 1, 1 << 20, [64 << 10, 2 << 20], compress: true);
        var recorder = new LoadRecorder();
        using var client = new TransferClient(target, payload, recorder, new ClientProfile(2, System.Net.HttpVersion.Version11, TimeSpan.FromSeconds(30)));

        var oneShot = await Assert.ThrowsAsync<OperationFailedException>(() => client.UploadAsync("/load/x", 64 << 10, TestContext.Current.CancellationToken));
        var session = await Assert.ThrowsAsync<OperationFailedException>(() => client.UploadAsync("/load/y", 2 << 20, TestContext.Current.CancellationToken));
        var download = await Assert.ThrowsAsync<OperationFailedException>(() => client.DownloadAsync("/load/x", 64 << 10, TestContext.Current.CancellationToken));

        Assert.Equal((Operations.OneShotPut, "http 401 unauthorized"), (oneShot.Operation, FailureKinds.Classify(oneShot)));
        Assert.Equal((Operations.SessionOpen, "http 401 unauthorized"), (session.Operation, FailureKinds.Classify(session)));

        // HEAD answers carry no body, so no problem type.
        Assert.Equal((Operations.Head, "http 401"), (download.Operation, FailureKinds.Classify(download)));
        Assert.Empty(recorder.LatencyOperations);
        Assert.Equal(0, recorder.Operations);
    }
}
