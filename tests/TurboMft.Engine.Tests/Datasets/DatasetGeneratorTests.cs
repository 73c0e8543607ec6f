using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Datasets;

namespace TurboMft.Engine.Tests.Datasets;

public class DatasetGeneratorTests
{
    private const int ChunkSize = 4 << 20;

    public static TheoryData<DatasetKind> Kinds => [DatasetKind.HistorianCsv, DatasetKind.ImagingFrames, DatasetKind.Random];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Same_seed_gives_same_bytes(DatasetKind kind)
    {
        var first = Generate(kind, 42, 0, 3 * DatasetGenerator.BlockSize);
        var second = Generate(kind, 42, 0, 3 * DatasetGenerator.BlockSize);

        Assert.Equal(first, second);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Different_seeds_give_different_bytes(DatasetKind kind)
    {
        // Offset inside the first imaging frame's exposed circle, where no byte is fixed by the collimator mask.
        var offset = 1024L * DatasetGenerator.ImagingFrameWidth * 2;
        var one = Generate(kind, 1, offset, DatasetGenerator.BlockSize);
        var two = Generate(kind, 2, offset, DatasetGenerator.BlockSize);

        var equal = one.Zip(two).Count(pair => pair.First == pair.Second);
        Assert.True(equal < one.Length / 2, $"{equal} of {one.Length} bytes are equal for seeds 1 and 2.");
    }

    [Theory]
    [InlineData(DatasetKind.HistorianCsv, "e298cb98c8d9a853e5578986a059c5894e148a721c2efcfc2819caa5b65ef15c")]
    [InlineData(DatasetKind.ImagingFrames, "9e6d90d592c9eae4b9699e85aaae90dfbbe1f9bb381eaab5420fdd4b7d7484e1")]
    [InlineData(DatasetKind.Random, "8b9e51dd719a95715039a5796762972654e06afd4ce8de187f84deec1527ff51")]
    public void Content_is_pinned_by_a_known_answer(DatasetKind kind, string sha256OfFirstMiB)
    {
        // Pinned from this implementation: if it fails, the generator changed and so did every dataset and benchmark input.
        var bytes = Generate(kind, 1, 0, 1 << 20);

        Assert.Equal(sha256OfFirstMiB, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    [Theory]
    [InlineData(DatasetKind.HistorianCsv, 0L)]
    [InlineData(DatasetKind.HistorianCsv, 10_000_000_007L)]
    [InlineData(DatasetKind.ImagingFrames, 0L)]
    [InlineData(DatasetKind.ImagingFrames, 3L * 8 * 1024 * 1024 - 100_000)]
    [InlineData(DatasetKind.Random, 0L)]
    [InlineData(DatasetKind.Random, 1L << 40)]
    public void Any_range_equals_the_slice_of_a_bigger_fill(DatasetKind kind, long origin)
    {
        const int length = (4 * DatasetGenerator.BlockSize) + 1234;
        var whole = Generate(kind, 9, origin, length);
        (int Start, int Length)[] ranges =
        [
            (0, length),
            (0, 1),
            (5, 0),
            (17, 100),
            (DatasetGenerator.BlockSize - 3, 7),
            (DatasetGenerator.BlockSize, DatasetGenerator.BlockSize),
            (1000, (2 * DatasetGenerator.BlockSize) + 999),
            (length - 1, 1),
        ];

        foreach (var (start, count) in ranges)
        {
            var part = Generate(kind, 9, origin + start, count);
            Assert.True(whole.AsSpan(start, count).SequenceEqual(part), $"[{origin + start}, +{count}) differs from the bigger fill.");
        }
    }

    [Fact]
    public void Historian_csv_compresses_about_three_to_four_times()
    {
        var (ratio, encodings) = MeasureLz4(DatasetKind.HistorianCsv, chunks: 4);

        Assert.All(encodings, encoding => Assert.Equal(ChunkEncoding.Lz4, encoding));
        Assert.InRange(ratio, 2.5, 5.0);
    }

    [Fact]
    public void Random_data_stays_raw()
    {
        var (ratio, encodings) = MeasureLz4(DatasetKind.Random, chunks: 2);

        Assert.All(encodings, encoding => Assert.Equal(ChunkEncoding.Raw, encoding));
        Assert.Equal(1.0, ratio);
    }

    [Fact]
    public void Imaging_frames_gain_little_from_lz4()
    {
        var (ratio, _) = MeasureLz4(DatasetKind.ImagingFrames, chunks: 4);

        Assert.InRange(ratio, 1.0, 1.6);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(7_777L * DatasetGenerator.BlockSize)]
    public void Historian_csv_lines_have_four_fields_and_ascending_timestamps(long offset)
    {
        var text = Encoding.ASCII.GetString(Generate(DatasetKind.HistorianCsv, 3, offset, 16 * DatasetGenerator.BlockSize));
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = text[..^1].Split('\n');
        if (offset == 0)
        {
            Assert.Equal("timestamp,tag,value,quality", lines[0]);
            lines = lines[1..];
        }

        var previous = DateTime.MinValue;
        foreach (var line in lines)
        {
            var fields = line.Split(',');
            Assert.Equal(4, fields.Length);
            var time = DateTime.ParseExact(fields[0], "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
            Assert.True(time > previous, $"'{line}' is not later than {previous:O}.");
            previous = time;
            Assert.Matches(@"^PLANT\d\.UNIT\d\.[A-Z]{2}-\d{3}\.PV$", fields[1]);
            Assert.True(decimal.TryParse(fields[2], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _), $"'{fields[2]}' is not a value.");
            Assert.Contains(fields[3], new[] { "0", "64", "192" });
        }

        Assert.True(lines.Length > 16 * 1000, $"Only {lines.Length} lines in 1 MiB.");
    }

    [Fact]
    public void Imaging_frames_are_dark_outside_the_collimator_and_lit_inside()
    {
        const int rowBytes = DatasetGenerator.ImagingFrameWidth * 2;
        const long frameBytes = (long)rowBytes * DatasetGenerator.ImagingFrameHeight;
        for (var frame = 0L; frame < 2; frame++)
        {
            var corner = Generate(DatasetKind.ImagingFrames, 1, frame * frameBytes, rowBytes);
            var centre = Generate(DatasetKind.ImagingFrames, 1, (frame * frameBytes) + (1024L * rowBytes), rowBytes);

            Assert.Equal(0, BitConverter.ToUInt16(corner, 0));
            Assert.Equal(0, BitConverter.ToUInt16(corner, rowBytes - 2));
            Assert.True(BitConverter.ToUInt16(centre, rowBytes / 2) > 1000, "The frame centre should be exposed.");
        }
    }

    [Fact]
    public async Task WriteFileAsync_writes_exactly_the_filled_bytes()
    {
        var path = Path.Combine(Path.GetTempPath(), $"tmf-dataset-{Guid.NewGuid():N}.csv");
        const long length = (2L * DatasetGenerator.WriteBlockSize) + 12_345;
        try
        {
            await File.WriteAllBytesAsync(path, new byte[length + 999], TestContext.Current.CancellationToken);

            await DatasetGenerator.WriteFileAsync(path, DatasetKind.HistorianCsv, length, seed: 5, TestContext.Current.CancellationToken);

            var written = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
            Assert.Equal(length, written.Length);
            Assert.True(written.AsSpan().SequenceEqual(Generate(DatasetKind.HistorianCsv, 5, 0, (int)length)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task WriteFileAsync_cancelled_leaves_no_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"tmf-dataset-{Guid.NewGuid():N}.bin");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => DatasetGenerator.WriteFileAsync(path, DatasetKind.Random, 64L << 20, seed: 1, cancelled.Token));

        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Invalid_arguments_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => DatasetGenerator.Fill((DatasetKind)99, 1, 0, new byte[8]));
        Assert.Throws<ArgumentOutOfRangeException>(() => DatasetGenerator.Fill(DatasetKind.Random, 1, -1, new byte[8]));
    }

    private static byte[] Generate(DatasetKind kind, long seed, long offset, int length)
    {
        var bytes = new byte[length];
        DatasetGenerator.Fill(kind, seed, offset, bytes);
        return bytes;
    }

    private static (double Ratio, ChunkEncoding[] Encodings) MeasureLz4(DatasetKind kind, int chunks)
    {
        var chunk = new byte[ChunkSize];
        var encoded = new byte[ChunkCompressor.MaxEncodedLength(ChunkSize)];
        var encodings = new ChunkEncoding[chunks];
        long stored = 0;
        for (var i = 0; i < chunks; i++)
        {
            DatasetGenerator.Fill(kind, 1, (long)i * ChunkSize, chunk);
            encodings[i] = ChunkCompressor.Adaptive.Compress(chunk, encoded, out var written);
            stored += encodings[i] == ChunkEncoding.Lz4 ? written : ChunkSize;
        }

        return ((double)chunks * ChunkSize / stored, encodings);
    }
}
