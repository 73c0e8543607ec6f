using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

[assembly: AssemblyFixture(typeof(TurboMft.Host.Tests.Postgres.PostgresServer))]

namespace TurboMft.Host.Tests.Postgres;

/// <summary>
/// A real PostgreSQL 15 for the tests that need one, started on first use over a temporary directory (initdb, then
/// pg_ctl on a free loopback port and a socket directory of its own) and stopped when the test assembly ends. Logins use
/// SCRAM with a random password, so the providers' connection strings carry one as in production. Each test asks for an
/// empty database of its own (<see cref="CreateDatabaseAsync"/>). fsync is off (the tests kill nodes and this server,
/// never its host), synchronous_commit stays on: a commit is in the WAL before it returns, so it survives an immediate stop. If PostgreSQL is not installed the tests fail with how to install it:
/// they never skip (.ci/run installs postgresql-15). As root, the server runs as the <c>postgres</c> user.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    /// <summary>The superuser the tests and the providers log in as.</summary>
    public const string User = "turbomft_test";

    private static readonly string[] BinDirectories = ["/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin"];

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _directory = Directory.CreateTempSubdirectory("tmf-pg-").FullName;
    private readonly string _password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private string? _bin;
    private int _databases;
    private bool _running;

    /// <summary>The loopback port it listens on (0 before the first use).</summary>
    public int Port { get; private set; }

    private string DataDirectory => Path.Combine(_directory, "data");

    private string SocketDirectory => Path.Combine(_directory, "socket");

    private string LogFile => Path.Combine(_directory, "postgres.log");

    private static bool IsRoot => OperatingSystem.IsLinux() && Environment.UserName == "root";

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// A new, empty database (starting the server on first use) and the connection string for it, with the password.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string purpose)
    {
        await EnsureStartedAsync();
        var name = $"tmf_{Sanitize(purpose)}_{Interlocked.Increment(ref _databases).ToString(CultureInfo.InvariantCulture)}_{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}";
        await using (var admin = new NpgsqlConnection(ConnectionString("postgres")))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync();
        }

        return ConnectionString(name);
    }

    /// <summary>The connection string for <paramref name="database"/> (pooling off: a test's connections end with it).</summary>
    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = User,
        Password = _password,
        Database = database,
        Timeout = 10,
    }.ConnectionString;

    /// <summary>The password of <see cref="User"/> (to check it never shows in a log or an error).</summary>
    public string Password => _password;

    /// <summary>Stops the server at once (as a crash would); <see cref="StartAsync"/> brings it back on the same port and data.</summary>
    public async Task StopAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_running)
            {
                await RunAsync(PgCtl, "-D", DataDirectory, "-m", "immediate", "-w", "stop");
                _running = false;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Starts the server again after <see cref="StopAsync"/>.</summary>
    public async Task StartAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (!_running)
            {
                await StartServerAsync();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_running)
        {
            try
            {
                await RunAsync(PgCtl, "-D", DataDirectory, "-m", "immediate", "-w", "stop");
            }
            catch (InvalidOperationException)
            {
                // Already gone; the directory goes below either way.
            }
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        _gate.Dispose();
    }

    private string PgCtl => Path.Combine(_bin!, "pg_ctl");

    private async Task EnsureStartedAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_running)
            {
                return;
            }

            if (_bin is null)
            {
                _bin = BinDirectories.FirstOrDefault(dir => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl"))) ?? throw new InvalidOperationException(
                    "PostgreSQL is not installed: the PostgreSQL provider tests need a real server. Install it with `apt-get install -y postgresql-15` " +
                    "(.ci/run does this in CI; no service is started, the tests run their own server on a temporary directory).");
                Directory.CreateDirectory(SocketDirectory);
                var passwordFile = Path.Combine(_directory, "password");
                await File.WriteAllTextAsync(passwordFile, _password + "\n");
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }
                if (IsRoot)
                {
                    // PostgreSQL refuses to run as root: the postgres user (from the package) owns the directory.
                    await RunAsync("chown", "-R", "postgres:postgres", _directory);
                }

                await RunAsync(Path.Combine(_bin, "initdb"), "-D", DataDirectory, "-U", User, "--auth=scram-sha-256", "--pwfile=" + passwordFile, "--encoding=UTF8", "--locale=C", "--no-sync");
                File.Delete(passwordFile);
                Port = FreePort();
            }

            await StartServerAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task StartServerAsync()
    {
        var options = string.Join(' ',
            "-c listen_addresses=127.0.0.1",
            $"-p {Port.ToString(CultureInfo.InvariantCulture)}",
            $"-k {SocketDirectory}",
            "-c fsync=off",
            "-c full_page_writes=off",
            "-c max_connections=300",
            "-c shared_buffers=64MB");
        await RunAsync(PgCtl, "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o", options, "start");
        _running = true;
    }

    private async Task RunAsync(string file, params string[] arguments)
    {
        var (command, args) = IsRoot && file != "chown" ? ("/usr/sbin/runuser", (string[])["-u", "postgres", "--", file, .. arguments]) : (file, arguments);
        var info = new ProcessStartInfo(command, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            var log = File.Exists(LogFile) ? await File.ReadAllTextAsync(LogFile) : string.Empty;
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}{await error}\n{log}");
        }
    }

    private static string Sanitize(string purpose)
    {
        var text = new StringBuilder();
        foreach (var c in purpose.ToLowerInvariant())
        {
            if (text.Length < 24 && c is (>= 'a' and <= 'z') or (>= '0' and <= '9'))
            {
                text.Append(c);
            }
        }

        return text.Length == 0 ? "db" : text.ToString();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
