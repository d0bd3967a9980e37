using System.Buffers;
using Gateway.Engine.Records;
using Gateway.Protos.Forward;
using MessagePack;
using static Gateway.Aggregator.Tests.Inputs.Forward.ForwardFrames;

namespace Gateway.Aggregator.Tests.Inputs.Forward;

/// <summary>
/// The codec validates events inside Protos (which cannot reference Engine); whatever it accepts must read
/// cleanly with the engine's <see cref="EventReader"/>, or a bad chunk would fail later, far from its sender.
/// </summary>
public sealed class ForwardDecoderEngineAgreementTests
{
    [Fact]
    public void Every_message_the_decoder_accepts_reads_cleanly_with_the_engine_event_reader()
    {
        var random = new Random(7);
        var seeds = new[]
        {
            Packed("p", Events(4), 4, "c"),
            MessageMode("m", "text", "c"),
            ForwardMode("f", Events(3), 3, "c"),
            Packed("g", Events(3), 3, "c", ForwardCompression.Gzip),
            Msgpack((ref MessagePackWriter w) =>
            {
                // v2 layout with nil metadata and extra header elements.
                w.WriteArrayHeader(2);
                w.Write("v2");
                w.WriteArrayHeader(1);
                w.WriteArrayHeader(2);
                w.WriteArrayHeader(3);
                w.Write(1.5);
                w.WriteNil();
                w.Write(7);
                w.WriteMapHeader(0);
            }),
        };

        var accepted = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = (byte[])seeds[random.Next(seeds.Length)].Clone();
            if (i > 0)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            var decoder = new ForwardMessageDecoder();
            if (decoder.TryDecode(new ReadOnlySequence<byte>(bytes), out var message, out _, out _) != ForwardDecodeStatus.Message)
            {
                continue;
            }

            accepted++;
            Assert.Equal(message!.EventCount, EventReader.CountAndValidate(message.Events));
        }

        Assert.True(accepted > 1000, $"only {accepted} accepted");
    }
}
