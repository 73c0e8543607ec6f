using System.CommandLine;
using Microsoft.Extensions.Configuration;
using TurboMft.Host.Access;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Server;

namespace TurboMft.Host.Cli;

/// <summary><c>turbomft serve --data DIR [--listen HOST:PORT] [--config FILE]</c>: the Kestrel server.</summary>
internal static class ServeCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var data = new Option<string?>("--data") { Description = "Data directory (created and initialised on first start). Env: TURBOMFT_DATA.", HelpName = "DIR" };
        var listen = new Option<string?>("--listen") { Description = "HOST:PORT to listen on (default 127.0.0.1:8443; port 0 picks one). Env: TURBOMFT_LISTEN.", HelpName = "HOST:PORT" };
        var config = new Option<FileInfo?>("--config") { Description = "Optional JSON settings file; environment and command line override it.", HelpName = "FILE" };
        var policy = new Option<string?>("--policy") { Description = "JSON access policy (roles, users, peers, grants), validated and applied at start. Env: TURBOMFT_POLICY.", HelpName = "FILE" };
        var site = new Option<string?>("--site") { Description = "This node's site name for replication provenance and its node certificate's CN (default: the host name). Env: TURBOMFT_SITE.", HelpName = "NAME" };
        var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL connection string: metadata, access and replication in that database instead of SQLite (docs/cluster.md). Env: TURBOMFT_POSTGRES (preferred: a password on the command line is visible to other users).", HelpName = "CONNECTION" };
        var node = new Option<string?>("--node") { Description = "This node's name among the nodes of one database (default: host name and port). Env: TURBOMFT_NODE.", HelpName = "NAME" };
        var store = new Option<string?>("--store") { Description = "Where containers and upload staging live: dir:/PATH, a directory every node of a cluster mounts (default: the data directory's store/). Env: TURBOMFT_STORE.", HelpName = "STORE" };
        var command = new Command("serve", "Run the TurboMft server: HTTPS (TLS 1.3 only), HTTP/1.1 and HTTP/2.") { data, listen, config, policy, site, postgres, node, store };
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            var settings = LoadSettings(parse.GetValue(config), parse.GetValue(data), parse.GetValue(listen), parse.GetValue(policy), parse.GetValue(site), parse.GetValue(postgres), parse.GetValue(node), parse.GetValue(store));
            if (settings.Policy is not null)
            {
                // Before anything is created or bound: a bad policy is a usage error naming FILE:LINE:COLUMN.
                AccessPolicyFile.Load(settings.Policy);
            }

            // Every setting (a PostgreSQL connection string among them) is checked before the data directory is created.
            new ServerSettingsValidation().ThrowIfInvalid(settings);
            var directory = DataDirectory.Open(settings.Data);
            await using var server = TurboMftServer.Create(settings, directory);
            await server.StartAsync(cancellationToken).ConfigureAwait(false);
            if (directory.Created.Count > 0)
            {
                await output.WriteLineAsync($"initialised {directory.Root}: {string.Join(", ", directory.Created)}").ConfigureAwait(false);
            }

            await output.WriteLineAsync($"TurboMft serving {server.Address} (TLS 1.3; HTTP/1.1, HTTP/2; HTTP/3 {(ProductInfo.QuicAvailable ? "on" : "off: libmsquic not available")})").ConfigureAwait(false);
            await output.WriteLineAsync($"certificate {server.Fingerprint} ({directory.CertificatePath})").ConfigureAwait(false);
            await output.WriteLineAsync($"node certificate {server.Node.Fingerprint} ({directory.NodeCertificatePath}), site {server.Node.Site}, node {server.NodeName}").ConfigureAwait(false);
            await output.WriteLineAsync(File.Exists(directory.AdminTokenPath)
                ? $"admin token in {directory.AdminTokenPath}"
                : "admin token: none on this node (the database's first node holds it; issue tokens with the admin API)").ConfigureAwait(false);
            await output.WriteLineAsync($"audit log in {directory.AuditPath}").ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await server.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: a clean stop.
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>Settings from a config file, then TURBOMFT_* environment variables, then the command line (highest).</summary>
    internal static ServerSettings LoadSettings(FileInfo? configFile, string? data, string? listen, string? policy = null, string? site = null, string? postgres = null, string? node = null, string? store = null)
    {
        var builder = new ConfigurationBuilder();
        if (configFile is not null)
        {
            if (!configFile.Exists)
            {
                throw new FileNotFoundException($"Config file '{configFile.FullName}' not found.");
            }

            builder.AddJsonFile(configFile.FullName, optional: false);
        }

        builder.AddEnvironmentVariables("TURBOMFT_");
        var overrides = new Dictionary<string, string?>();
        if (data is not null)
        {
            overrides["Data"] = data;
        }

        if (listen is not null)
        {
            overrides["Listen"] = listen;
        }

        if (policy is not null)
        {
            overrides["Policy"] = policy;
        }

        if (site is not null)
        {
            overrides["Site"] = site;
        }

        if (postgres is not null)
        {
            overrides["Postgres"] = postgres;
        }

        if (node is not null)
        {
            overrides["Node"] = node;
        }

        if (store is not null)
        {
            overrides["Store"] = store;
        }

        builder.AddInMemoryCollection(overrides);
        var settings = new ServerSettings();
        var configuration = builder.Build();
        configuration.Bind(settings);

        // The upload settings keep their top-level keys (docs/operations.md, "Settings").
        configuration.Bind(settings.Uploads);
        settings.ParseListen();
        return settings;
    }
}
