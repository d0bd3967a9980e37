using System.Buffers;
using Gateway.Aggregator.Filters;
using Gateway.Engine.Json;
using Gateway.Engine.RecordAccessor;
using Gateway.Tests.Shared;

namespace Gateway.Aggregator.Tests.Filters;

public sealed class MsgpackWalkerTests
{
    [Fact]
    public void Skip_and_canonical_check_agree_with_the_cursor_and_the_packer_on_fuzzed_input()
    {
        var random = new Random(20261125);
        var seeds = new[]
        {
            JsonMsgpack.FromJson("{\"a\":[1,-1,300,-300,70000,-70000,5000000000,1.5,true,null,\"s\"],\"m\":{\"k\":{\"x\":\"" + new string('y', 40) + "\"}}}"),
            new byte[] { 0xd1, 0x01, 0x2c, 0xc7, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0xdc, 0x00, 0x01, 0xc0, 0xd9, 0x01, 0x61, 0xcc, 0x05 },
        };
        for (var round = 0; round < 20000; round++)
        {
            var seed = seeds[round % seeds.Length];
            var bytes = (byte[])seed.Clone();
            var mutations = random.Next(0, 4);
            for (var m = 0; m < mutations; m++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            if (random.Next(4) == 0)
            {
                bytes = bytes[..random.Next(bytes.Length + 1)];
            }

            int? cursorEnd;
            try
            {
                var cursor = new MsgpackCursor(bytes);
                cursor.Skip();
                cursorEnd = cursor.Position;
            }
            catch (MsgpackFormatException)
            {
                cursorEnd = null;
            }

            int? walkerEnd;
            try
            {
                walkerEnd = MsgpackWalker.Skip(bytes, 0);
            }
            catch (MsgpackFormatException)
            {
                walkerEnd = null;
            }

            Assert.Equal(cursorEnd, walkerEnd);
            if (cursorEnd is { } end)
            {
                var packed = new ArrayBufferWriter<byte>();
                MsgpackCanonicalWriter.CopyValue(bytes, 0, packed);
                Assert.Equal(packed.WrittenSpan.SequenceEqual(bytes.AsSpan(0, end)), MsgpackWalker.IsCanonical(bytes, 0, end));
            }
        }
    }
}
