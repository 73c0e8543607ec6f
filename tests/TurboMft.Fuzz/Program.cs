using SharpFuzz;
using TurboMft.Fuzz;

// TurboMft.Fuzz PARSER        one input from stdin under afl-fuzz (SharpFuzz's out-of-process mode): scripts/fuzz runs it.
// TurboMft.Fuzz PARSER FILE   one input from FILE, outside afl-fuzz: prints how it ended (to replay a crash).
// TurboMft.Fuzz --list        the parsers.
// TurboMft.Fuzz --write-seeds DIR   rewrites the seed corpus (tests/TurboMft.Fuzz/corpus) with the product's writers.
if (args is ["--list"])
{
    foreach (var each in FuzzTargets.All)
    {
        Console.WriteLine($"{each.Name,-16} {each.Description}");
    }

    return 0;
}

if (args is ["--write-seeds", var corpus])
{
    Console.WriteLine($"{await SeedCorpus.WriteAsync(corpus)} seed files written under {corpus}");
    return 0;
}

if (args.Length is < 1 or > 2 || FuzzTargets.Find(args[0]) is not { } target)
{
    await Console.Error.WriteLineAsync("usage: TurboMft.Fuzz PARSER [FILE] | --list");
    return 2;
}

if (args.Length == 2)
{
    var outcome = target.Run(await File.ReadAllBytesAsync(args[1]));
    Console.WriteLine(outcome.Accepted ? "accepted" : $"refused: {outcome.Refusal}");
    return 0;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var input = new MemoryStream();
    stream.CopyTo(input);
    target.Run(input.GetBuffer().AsSpan(0, (int)input.Length));
});
return 0;
