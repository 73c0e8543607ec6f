using System.CommandLine;
using TurboMft.Engine.Client;

namespace TurboMft.Host.Cli;

/// <summary>How a client command trusts the server (<c>--ca</c> or <c>--pin</c>) and which token it sends (<c>--token-file</c> or <c>TURBOMFT_TOKEN</c>).</summary>
internal sealed class ServerAccessOptions
{
    public Option<FileInfo?> Ca { get; } = new("--ca") { Description = "Trust the server through this CA (or its own certificate), PEM or DER.", HelpName = "FILE" };

    public Option<string?> Pin { get; } = new("--pin") { Description = "Trust exactly the server certificate with this SHA-256 (as 'turbomft serve' prints it).", HelpName = "sha256:HEX" };

    public Option<FileInfo?> TokenFile { get; } = new("--token-file") { Description = "File holding the API token (default: environment variable TURBOMFT_TOKEN).", HelpName = "FILE" };

    public void AddTo(Command command)
    {
        command.Options.Add(Ca);
        command.Options.Add(Pin);
        command.Options.Add(TokenFile);
    }

    /// <summary>
    /// An admin client of <paramref name="server"/> (<c>https://host:port</c>, no path) trusting it per <c>--ca</c>/<c>--pin</c>
    /// with the token of <see cref="ReadToken"/>.
    /// </summary>
    public TurboMftAdminClient OpenAdminClient(ParseResult parse, string server)
    {
        var url = TransferUrl.Parse(server);
        if (url.RemotePath != RemotePaths.Root)
        {
            throw new ArgumentException($"--server '{server}' has a path; give only https://host:port.");
        }

        return new TurboMftAdminClient(new TurboMftClientOptions
        {
            BaseAddress = url.BaseAddress,
            Token = ReadToken(parse),
            CaCertificatePath = parse.GetValue(Ca)?.FullName,
            PinSha256 = parse.GetValue(Pin),
        });
    }

    /// <summary>The token from <c>--token-file</c>, else <c>TURBOMFT_TOKEN</c>, else empty (the client then says what to do).</summary>
    public string ReadToken(ParseResult parse)
    {
        var tokenFile = parse.GetValue(TokenFile);
        if (tokenFile is null)
        {
            return Environment.GetEnvironmentVariable("TURBOMFT_TOKEN")?.Trim() ?? string.Empty;
        }

        try
        {
            return File.ReadAllText(tokenFile.FullName).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot read the token file '{tokenFile.FullName}': {e.Message}", e);
        }
    }
}
