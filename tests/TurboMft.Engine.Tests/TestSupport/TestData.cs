using System.Text;

namespace TurboMft.Engine.Tests.TestSupport;

/// <summary>Small deterministic inputs for unit tests.</summary>
internal static class TestData
{
    public static byte[] Pattern(int length)
    {
        var data = new byte[length];
        for (var i = 0; i < length; i++)
        {
            data[i] = (byte)(((i * 7) + 3) % 251);
        }

        return data;
    }

    public static byte[] Random(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static byte[] Text(int length)
    {
        var builder = new StringBuilder(length + 64);
        var line = 0;
        while (builder.Length < length)
        {
            builder.Append("2026-01-01T00:00:").Append((line % 60).ToString("00", System.Globalization.CultureInfo.InvariantCulture))
                .Append("Z,PLANT1.UNIT").Append(line % 7).Append(".TT-10").Append(line % 13).Append(".PV,")
                .Append(100 + (line % 17)).Append(".5,192\n");
            line++;
        }

        return Encoding.ASCII.GetBytes(builder.ToString(0, length));
    }
}

/// <summary>A temporary directory removed at dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Path = Directory.CreateTempSubdirectory("tmf-test-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
