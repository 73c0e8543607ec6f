using System.Buffers.Binary;

namespace TurboMft.Engine.Datasets;

/// <summary>
/// 16-bit detector frames, <see cref="Width"/>×<see cref="Height"/> little-endian uint16, row-major, back to back: a
/// background gradient and soft disks (a phantom that changes per frame), photon-like noise over the low bits, and
/// zero outside a circular collimator. A block is whole rows of one frame, so any block is computed on its own.
/// </summary>
internal static class ImagingFrameBlock
{
    /// <summary>Pixels per row.</summary>
    public const int Width = 2048;

    /// <summary>Rows per frame.</summary>
    public const int Height = 2048;

    /// <summary>Bytes per frame.</summary>
    public const int FrameBytes = Width * Height * sizeof(ushort);

    /// <summary>Radius of the exposed circle; pixels outside it read zero.</summary>
    public const int CollimatorRadius = 1120;

    private const ulong FrameStream = 4;
    private const ulong NoiseStream = 5;
    private const int DiskCount = 6;

    public static void Fill(long seed, long blockIndex, Span<byte> block)
    {
        const int rowBytes = Width * sizeof(ushort);
        var blocksPerFrame = FrameBytes / block.Length;
        var frame = blockIndex / blocksPerFrame;
        var firstRow = (int)(blockIndex % blocksPerFrame) * (block.Length / rowBytes);

        var phantom = new Phantom(seed, frame);
        var noise = Xoshiro256StarStar.For(seed, NoiseStream, blockIndex);
        Span<int> row = stackalloc int[Width];
        for (var r = 0; r < block.Length / rowBytes; r++)
        {
            var y = firstRow + r;
            phantom.Render(y, row);
            WriteRow(y, row, ref noise, block.Slice(r * rowBytes, rowBytes));
        }
    }

    private static void WriteRow(int y, ReadOnlySpan<int> row, ref Xoshiro256StarStar noise, Span<byte> destination)
    {
        var dy = y - (Height / 2);
        var exposed = (CollimatorRadius * CollimatorRadius) - (dy * dy);
        var half = exposed > 0 ? (int)Math.Sqrt(exposed) : -1;
        var from = Math.Max(0, (Width / 2) - half);
        var to = Math.Min(Width, (Width / 2) + half);
        destination[..(2 * from)].Clear();
        if (to < Width)
        {
            destination[(2 * Math.Max(from, to))..].Clear();
        }

        ulong bits = 0;
        for (var x = from; x < to; x++)
        {
            if (((x - from) & 3) == 0)
            {
                bits = noise.Next();
            }

            // Sum of two bytes: a triangular distribution of about ±100 counts, like shot noise at mid-range signal.
            var n = (int)(bits & 0xFF) + (int)((bits >> 8) & 0xFF) - 255;
            bits >>= 16;
            var value = Math.Clamp(row[x] + n, 0, ushort.MaxValue);
            BinaryPrimitives.WriteUInt16LittleEndian(destination[(2 * x)..], (ushort)value);
        }
    }

    /// <summary>One frame's smooth signal: a tilted background and parabolic disks, all integer arithmetic.</summary>
    private readonly struct Phantom
    {
        private readonly int _background;
        private readonly int _slopeX;
        private readonly int _slopeY;
        private readonly Disk[] _disks;

        public Phantom(long seed, long frame)
        {
            var rng = Xoshiro256StarStar.For(seed, FrameStream, frame);
            _background = 6_000 + (int)rng.NextBelow(4_000);
            _slopeX = (int)rng.NextBelow(1_025) - 512;
            _slopeY = (int)rng.NextBelow(1_025) - 512;
            _disks = new Disk[DiskCount];
            for (var i = 0; i < _disks.Length; i++)
            {
                var radius = 60 + (int)rng.NextBelow(340);
                var peak = 2_000 + (int)rng.NextBelow(28_000);
                _disks[i] = new Disk(
                    300 + (int)rng.NextBelow(Width - 600),
                    300 + (int)rng.NextBelow(Height - 600),
                    radius * radius,
                    ((long)peak << 16) / (radius * radius));
            }
        }

        public void Render(int y, Span<int> row)
        {
            var start = (_background << 8) + (_slopeY * (y - (Height / 2))) - (_slopeX * (Width / 2));
            for (var x = 0; x < row.Length; x++)
            {
                row[x] = (start + (_slopeX * x)) >> 8;
            }

            foreach (var disk in _disks)
            {
                var dy = y - disk.CentreY;
                var inside = disk.RadiusSquared - (dy * dy);
                if (inside <= 0)
                {
                    continue;
                }

                var half = (int)Math.Sqrt(inside);
                var from = Math.Max(0, disk.CentreX - half);
                var to = Math.Min(row.Length - 1, disk.CentreX + half);
                for (var x = from; x <= to; x++)
                {
                    var dx = x - disk.CentreX;
                    row[x] += (int)(((inside - (dx * dx)) * disk.Scale) >> 16);
                }
            }
        }
    }

    private readonly record struct Disk(int CentreX, int CentreY, int RadiusSquared, long Scale);
}
