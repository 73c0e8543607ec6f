return await TurboMft.Load.Cli.LoadCommand.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
