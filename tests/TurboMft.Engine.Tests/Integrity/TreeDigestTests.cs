using System.Security.Cryptography;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Tests.TestSupport;

namespace TurboMft.Engine.Tests.Integrity;

public class TreeDigestTests
{
    // The vectors are repeated in docs/format.md ("File digest"); they were computed independently of this code.
    [Theory]
    [InlineData(2 * 1048576 + 12345, 1048576, "sha256-tree:f70111d29856f53dad5401e65f4846a6b43a5b6df7e9eb69219877cde1e6c0e9")]
    [InlineData(0, 1048576, "sha256-tree:51f3ad1700696e62ae1da9055691ef1f4e292a9f113657e7b666818746e65391")]
    public void Known_vectors_for_pattern_file(int length, int chunkSize, string expected)
    {
        var data = TestData.Pattern(length);
        var geometry = new ChunkGeometry(length, chunkSize);
        var builder = new TreeDigestBuilder(geometry);
        for (long i = geometry.ChunkCount - 1; i >= 0; i--)
        {
            builder.AddChunk(i, data.AsSpan((int)geometry.OffsetOf(i), geometry.LengthOf(i)));
        }

        Assert.Equal(expected, builder.Finish().ToString());
    }

    [Fact]
    public void Known_vector_for_abc_in_one_short_chunk()
    {
        var geometry = new ChunkGeometry(3, 4 << 20);
        var builder = new TreeDigestBuilder(geometry);
        builder.AddChunk(0, "abc"u8);
        Assert.Equal("sha256-tree:11a3d941c279885c3fdd240add0847ca487d4a27d160da69daad4e17c9475921", builder.Finish().ToString());
    }

    [Fact]
    public void Finish_before_every_chunk_is_present_fails_and_names_the_gap()
    {
        var builder = new TreeDigestBuilder(new ChunkGeometry(3 << 20, 1 << 20));
        builder.AddChunk(0, new byte[1 << 20]);
        builder.AddChunk(2, new byte[1 << 20]);
        var error = Assert.Throws<InvalidOperationException>(() => builder.Finish());
        Assert.Contains("1 of 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Chunk_of_wrong_length_is_refused()
    {
        var builder = new TreeDigestBuilder(new ChunkGeometry((1 << 20) + 10, 1 << 20));
        Assert.Throws<ArgumentException>(() => builder.AddChunk(1, new byte[11]));
    }

    [Fact]
    public void Digest_depends_on_chunk_size_and_order()
    {
        var data = TestData.Pattern(3 << 20);
        static FileDigest Tree(byte[] data, int chunkSize)
        {
            var geometry = new ChunkGeometry(data.Length, chunkSize);
            var builder = new TreeDigestBuilder(geometry);
            for (long i = 0; i < geometry.ChunkCount; i++)
            {
                builder.AddChunk(i, data.AsSpan((int)geometry.OffsetOf(i), geometry.LengthOf(i)));
            }

            return builder.Finish();
        }

        Assert.NotEqual(Tree(data, 1 << 20), Tree(data, 2 << 20));
        var swapped = data.ToArray();
        data.AsSpan(0, 1 << 20).CopyTo(swapped.AsSpan(1 << 20));
        data.AsSpan(1 << 20, 1 << 20).CopyTo(swapped);
        Assert.NotEqual(Tree(data, 1 << 20), Tree(swapped, 1 << 20));
    }

    [Fact]
    public void File_digest_text_round_trips_and_rejects_malformed_text()
    {
        var digest = new FileDigest(SHA256.HashData("x"u8));
        Assert.Equal(digest, FileDigest.Parse(digest.ToString()));
        Assert.StartsWith("sha256-tree:", digest.ToString(), StringComparison.Ordinal);
        Assert.False(FileDigest.TryParse("sha256:" + new string('0', 64), out _));
        Assert.False(FileDigest.TryParse("sha256-tree:" + new string('0', 63), out _));
        Assert.False(FileDigest.TryParse("sha256-tree:" + new string('g', 64), out _));
        Assert.Throws<FormatException>(() => FileDigest.Parse("nope"));
    }
}
