using System.Text;

namespace TurboMft.Engine.Datasets;

/// <summary>
/// Historian CSV export, one independent 64 KiB block at a time: each block starts <see cref="BlockSpanMs"/> after the
/// previous one and holds whole lines only, its last line padded with fraction zeros to end exactly on the boundary.
/// Values are fixed-point integers, so no floating-point formatting can differ between machines.
/// </summary>
internal static class HistorianCsvBlock
{
    /// <summary>The first line of the file (block 0 only).</summary>
    public static ReadOnlySpan<byte> Header => "timestamp,tag,value,quality\n"u8;

    /// <summary>Time between the first lines of consecutive blocks; a block's lines never reach the next block's start.</summary>
    public const long BlockSpanMs = 5_000;

    /// <summary>The longest line written before padding.</summary>
    public const int MaxLineLength = 64;

    /// <summary>Number of distinct tags.</summary>
    public static int TagCount => Tags.Length;

    /// <summary>2026-01-01T00:00:00.000Z in Unix milliseconds.</summary>
    public const long EpochMs = 1_767_225_600_000;

    private const ulong LineStream = 1;
    private const ulong TagStream = 2;
    private const int MaxStepMs = 4;
    private const long MsPerDay = 86_400_000;
    private const int UnixEpochDayNumber = 719_162;

    // Instrument letter codes (ISA-5.1) with a typical range and the transmitter's resolution, in thousandths of the unit.
    private static readonly (string Code, long Min, long Max, long Resolution)[] Instruments =
    [
        ("TT", 20_000, 450_000, 100),
        ("PT", 1_000, 160_000, 10),
        ("FT", 0, 900_000, 100),
        ("LT", 5_000, 95_000, 10),
        ("AT", 0, 14_000, 1),
        ("ST", 500_000, 3_600_000, 1_000),
        ("VT", 0, 25_000, 1),
        ("ZT", 0, 100_000, 10),
    ];

    private static readonly byte[][] Tags = BuildTags();

    public static void Fill(long seed, long blockIndex, Span<byte> block)
    {
        var rng = Xoshiro256StarStar.For(seed, LineStream, blockIndex);
        var time = EpochMs + (blockIndex * BlockSpanMs);
        var position = 0;
        if (blockIndex == 0)
        {
            Header.CopyTo(block);
            position = Header.Length;
        }

        var day = -1L;
        Span<byte> date = stackalloc byte[11];
        while (true)
        {
            time += 1 + rng.NextBelow(MaxStepMs);
            var dayNumber = time / MsPerDay;
            if (dayNumber != day)
            {
                day = dayNumber;
                WriteDate(day, date);
            }

            var remaining = block.Length - position;
            var line = block[position..];
            var length = WriteLine(seed, time, date, ref rng, line, out var valueEnd);
            if (remaining - length >= MaxLineLength)
            {
                position += length;
                continue;
            }

            // Last line: move ",quality\n" to the block end and fill the gap with zeros, which leaves the value unchanged.
            var pad = remaining - length;
            line[valueEnd..length].CopyTo(line[(valueEnd + pad)..]);
            line.Slice(valueEnd, pad).Fill((byte)'0');
            return;
        }
    }

    private static int WriteLine(long seed, long time, ReadOnlySpan<byte> date, ref Xoshiro256StarStar rng, Span<byte> line, out int valueEnd)
    {
        var tag = (int)rng.NextBelow((uint)Tags.Length);
        var noise = rng.Next();

        date.CopyTo(line);
        var p = date.Length;
        var msOfDay = (int)(time % MsPerDay);
        p = WriteDigits(line, p, msOfDay / 3_600_000, 2);
        line[p++] = (byte)':';
        p = WriteDigits(line, p, msOfDay / 60_000 % 60, 2);
        line[p++] = (byte)':';
        p = WriteDigits(line, p, msOfDay / 1000 % 60, 2);
        line[p++] = (byte)'.';
        p = WriteDigits(line, p, msOfDay % 1000, 3);
        line[p++] = (byte)'Z';
        line[p++] = (byte)',';
        Tags[tag].CopyTo(line[p..]);
        p += Tags[tag].Length;
        line[p++] = (byte)',';

        var value = TagValue(seed, tag, time, noise);
        p = WriteUnsigned(line, p, (ulong)(value / 1000));
        line[p++] = (byte)'.';
        p = WriteDigits(line, p, (int)(value % 1000), 3);
        valueEnd = p;
        line[p++] = (byte)',';

        // OPC DA quality: good (192) almost always, sometimes uncertain (64) or bad (0).
        var quality = (uint)(noise >> 54) switch
        {
            < 4 => "0"u8,
            < 12 => "64"u8,
            _ => "192"u8,
        };
        quality.CopyTo(line[p..]);
        p += quality.Length;
        line[p++] = (byte)'\n';
        return p;
    }

    /// <summary>A slow triangle wave around a per-tag operating point plus measurement noise, quantised, in thousandths.</summary>
    private static long TagValue(long seed, int tag, long time, ulong noise)
    {
        var shape = Xoshiro256StarStar.For(seed, TagStream, tag);
        var (_, min, max, resolution) = Instruments[tag % Instruments.Length];
        var span = max - min;
        var centre = min + (span / 4) + (long)(shape.Next() % (ulong)(span / 2 + 1));
        var amplitude = span / 16;
        var period = 60_000 + (long)(shape.Next() % 3_540_000);
        var phase = (long)(shape.Next() % (ulong)period);
        var t = (time + phase) % period;
        var triangle = t < period / 2 ? t : period - t;
        var wave = amplitude * 2 * triangle / period;
        var jitter = (long)((noise & 0xFFFF) % (ulong)(2 * (amplitude / 64) + 1)) - (amplitude / 64);
        var value = Math.Max(0, centre - (amplitude / 2) + wave + jitter);
        return value - (value % resolution);
    }

    private static void WriteDate(long dayNumber, Span<byte> date)
    {
        var d = DateOnly.FromDayNumber((int)dayNumber + UnixEpochDayNumber);
        var p = WriteDigits(date, 0, d.Year, 4);
        date[p++] = (byte)'-';
        p = WriteDigits(date, p, d.Month, 2);
        date[p++] = (byte)'-';
        p = WriteDigits(date, p, d.Day, 2);
        date[p] = (byte)'T';
    }

    private static int WriteDigits(Span<byte> line, int position, int value, int width)
    {
        for (var i = position + width - 1; i >= position; i--)
        {
            line[i] = (byte)('0' + (value % 10));
            value /= 10;
        }

        return position + width;
    }

    private static int WriteUnsigned(Span<byte> line, int position, ulong value)
    {
        var digits = 1;
        for (var rest = value / 10; rest != 0; rest /= 10)
        {
            digits++;
        }

        var end = position + digits;
        for (var i = end - 1; i >= position; i--)
        {
            line[i] = (byte)('0' + (value % 10));
            value /= 10;
        }

        return end;
    }

    private static byte[][] BuildTags()
    {
        var tags = new List<byte[]>();
        for (var plant = 1; plant <= 2; plant++)
        {
            for (var unit = 1; unit <= 4; unit++)
            {
                for (var loop = 101; loop <= 105; loop++)
                {
                    foreach (var (code, _, _, _) in Instruments)
                    {
                        tags.Add(Encoding.ASCII.GetBytes($"PLANT{plant}.UNIT{unit}.{code}-{loop}.PV"));
                    }
                }
            }
        }

        return [.. tags];
    }
}
