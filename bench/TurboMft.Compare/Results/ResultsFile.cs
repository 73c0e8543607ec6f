using System.Globalization;

namespace TurboMft.Compare.Results;

/// <summary>A results.tsv or meta.tsv that cannot be read: which file, which line, what is wrong.</summary>
internal sealed class InvalidResultsException(string path, int line, string problem)
    : Exception($"{path}:{line}: {problem}");

/// <summary>Reads the raw files bench/compare/run.sh writes: results.tsv (one measurement a line) and meta.tsv (key, value).</summary>
internal static class ResultsFile
{
    private static readonly string[] Required =
    [
        "scenario", "dataset", "key", "label", "role", "round", "phase", "bytes", "files", "wall_s", "client_cpu_s",
        "server_cpu_s", "client_rss_kib", "server_rss_kib", "wire_bytes", "ok", "extra", "note", "load1",
    ];

    /// <summary>Every measurement in <paramref name="path"/>, in file order.</summary>
    public static IReadOnlyList<Measurement> ReadMeasurements(string path)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0)
        {
            throw new InvalidResultsException(path, 1, "empty file; expected a header line");
        }

        var header = lines[0].Split('\t');
        var column = header.Select((name, index) => (name, index)).ToDictionary(c => c.name, c => c.index, StringComparer.Ordinal);
        var missing = Required.Where(r => !column.ContainsKey(r)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidResultsException(path, 1, $"missing column(s) {string.Join(", ", missing)}");
        }

        var rows = new List<Measurement>();
        for (var i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }

            var cells = lines[i].Split('\t');
            if (cells.Length != header.Length)
            {
                throw new InvalidResultsException(path, i + 1, $"{cells.Length} cells, the header has {header.Length}");
            }

            var row = new Row(path, i + 1, cells, column);
            rows.Add(new Measurement(
                row.Text("scenario"),
                row.Text("dataset"),
                row.Text("key"),
                row.Text("label"),
                row.Text("role"),
                (int)row.Number("round"),
                row.Text("phase"),
                (long)row.Number("bytes"),
                (int)row.Number("files"),
                row.Number("wall_s"),
                row.Number("client_cpu_s"),
                row.Number("server_cpu_s"),
                (long?)row.OptionalNumber("client_rss_kib"),
                (long?)row.OptionalNumber("server_rss_kib"),
                (long?)row.OptionalNumber("wire_bytes"),
                row.Text("ok") == "1",
                ParseExtra(row.Text("extra")),
                row.Text("note"),
                row.OptionalNumber("load1")));
        }

        return rows;
    }

    /// <summary>The key/value lines of meta.tsv (later lines win).</summary>
    public static IReadOnlyDictionary<string, string> ReadMeta(string path)
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0)
            {
                continue;
            }

            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab <= 0)
            {
                throw new InvalidResultsException(path, number, "expected KEY<tab>VALUE");
            }

            meta[line[..tab]] = line[(tab + 1)..];
        }

        return meta;
    }

    private static Dictionary<string, string> ParseExtra(string text) =>
        text.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .Where(pair => pair.Length == 2)
            .GroupBy(pair => pair[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);

    private readonly struct Row(string path, int line, string[] cells, Dictionary<string, int> column)
    {
        public string Text(string name) => cells[column[name]];

        public double Number(string name) =>
            OptionalNumber(name) ?? throw new InvalidResultsException(path, line, $"{name} is empty; expected a number");

        public double? OptionalNumber(string name)
        {
            var text = Text(name);
            if (text.Length == 0)
            {
                return null;
            }

            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new InvalidResultsException(path, line, $"{name} '{text}' is not a number");
        }
    }
}
