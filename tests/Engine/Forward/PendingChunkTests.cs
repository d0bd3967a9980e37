using System.Buffers;
using Gateway.Engine.Forward;
using Gateway.Engine.Records;
using Gateway.Protos.Forward;

namespace Gateway.Engine.Tests.Forward;

public sealed class PendingChunkTests
{
    private static EventChunk Chunk()
    {
        var buffer = new ArrayBufferWriter<byte>();
        for (var i = 0; i < 3; i++)
        {
            EventWriter.WriteEvent(buffer, new EventTime(1_700_000_000u + (uint)i, 5), [new("log", "line " + i)]);
        }

        return new EventChunk("app.a", buffer.WrittenSpan.ToArray(), 3, "node-1");
    }

    private static ForwardClientOptions Options(ForwardCompression compression) => new()
    {
        Endpoints = [new ForwardEndpoint("127.0.0.1", 24224)],
        RequireAck = true,
        Compression = compression,
    };

    [Fact]
    public async Task Uncompressed_message_written_in_segments_is_the_PackedForward_message_of_the_chunk()
    {
        var chunk = Chunk();
        var pending = PendingChunk.Encode(chunk, Options(ForwardCompression.None), sequence: 1);
        using var written = new MemoryStream();
        await pending.WriteToAsync(written, CancellationToken.None);

        var expected = new ArrayBufferWriter<byte>();
        ForwardMessageWriter.WritePackedForward(expected, "app.a", chunk.Events.Span, 3, pending.Id, ForwardCompression.None, "node-1");
        Assert.Equal(expected.WrittenSpan.ToArray(), written.ToArray());
        pending.Release();
    }

    [Fact]
    public async Task Gzip_message_decodes_to_the_chunk_events()
    {
        var chunk = Chunk();
        var pending = PendingChunk.Encode(chunk, Options(ForwardCompression.Gzip), sequence: 1);
        using var written = new MemoryStream();
        await pending.WriteToAsync(written, CancellationToken.None);
        pending.Release();

        var decoder = new ForwardMessageDecoder();
        var status = decoder.TryDecode(new ReadOnlySequence<byte>(written.ToArray()), out var message, out var error, out _);
        Assert.True(status == ForwardDecodeStatus.Message, error?.ToString());
        Assert.Equal(chunk.Events.ToArray(), message!.Events.ToArray());
        Assert.Equal(pending.Id, message.Options.Chunk);
    }

    [Fact]
    public void The_sender_learns_it_may_reuse_the_events_only_after_a_write_in_progress_let_go()
    {
        // The events are written from the caller's memory: a resend still writing must finish first.
        var pending = PendingChunk.Encode(Chunk(), Options(ForwardCompression.None), sequence: 1);
        Assert.True(pending.TryAcquire()); // a resend starts writing

        pending.Release(); // the sender is done (acked or gave up)
        Assert.False(pending.WhenReleased.IsCompleted);

        pending.Release(); // the resend's write ends
        Assert.True(pending.WhenReleased.IsCompletedSuccessfully);
        Assert.False(pending.TryAcquire()); // and no later write starts on it
    }
}
