using TurboMft.Host.Cli;

return await TurboMftCommand.RunAsync(args).ConfigureAwait(false);
