package io.ferry.transport.aeron;

import static io.ferry.transport.aeron.BlockTransportIT.await;
import static io.ferry.transport.aeron.BlockTransportIT.send;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.transport.frame.BlockFrameDecoder;
import io.ferry.transport.frame.BlockFrameEncoder;
import io.ferry.transport.frame.ChannelKeys;
import io.ferry.transport.frame.DecodeResult;
import io.ferry.transport.frame.FrameSealer;
import io.ferry.transport.frame.SealedFrame;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sealed frames over a real Aeron channel, with an attacker who can send to the receiver's
 * endpoint from a media driver of its own: a captured frame sent again (replay) is refused as
 * REPLAYED, a captured frame with its counter raised and a plain frame for the sealed volume are
 * refused as BAD_AUTH, each is counted and named by its block, and the genuine frames all open,
 * including the ones after the forgeries (a forged counter does not move the stream).
 */
class SealedChannelIT {
    private static final int BLOCK = 16 * 1024;
    private static final long VOLUME = 7;
    private static final long ATTACH = 42;

    @TempDir
    Path dir;

    record Refused(BlockStream stream, DecodeResult result, long block) {}

    @Test
    void replayedForgedAndPlainFramesAreRefusedAndCounted() throws Exception {
        byte[] key = new byte[SealedFrame.KEY_LENGTH];
        new Random(1).nextBytes(key);
        ChannelKeys.OpenKey openKey = new ChannelKeys.OpenKey(key);
        ChannelKeys keys = new ChannelKeys() {
            @Override
            public ChannelKeys.OpenKey key(long volumeKey, long attachId) {
                return volumeKey == VOLUME && attachId == ATTACH ? openKey : null;
            }

            @Override
            public boolean sealedOnly(long volumeKey) {
                return volumeKey == VOLUME;
            }
        };
        List<byte[]> opened = Collections.synchronizedList(new ArrayList<>());
        List<Refused> refused = Collections.synchronizedList(new ArrayList<>());
        FrameHandler handler = new FrameHandler() {
            @Override
            public void onFrame(BlockStream stream, BlockFrameDecoder frame) {
                opened.add(frame.copyBlock());
            }

            @Override
            public void onCorrupt(BlockStream stream, DecodeResult result, BlockFrameDecoder partial) {
                refused.add(new Refused(stream, result, partial.blockIndex()));
            }
        };
        try (BlockTransport target = BlockTransport.start(TransportSettings.defaults(dir.resolve("target"), BLOCK));
             BlockTransport source = BlockTransport.start(TransportSettings.defaults(dir.resolve("source"), BLOCK));
             BlockTransport attacker = BlockTransport.start(TransportSettings.defaults(dir.resolve("attacker"), BLOCK))) {
            BlockReceiver receiver = target.receive("127.0.0.1", 0, handler, keys);
            BlockSender sender = source.connect("127.0.0.1", receiver.port());
            BlockSender evil = attacker.connect("127.0.0.1", receiver.port());
            await("connections", 10_000, () -> sender.isConnected(BlockStream.ON_DEMAND) && evil.isConnected(BlockStream.ON_DEMAND));

            BlockFrameEncoder encoder = new BlockFrameEncoder(BLOCK);
            FrameSealer sealer = new FrameSealer(key, VOLUME, ATTACH, BLOCK);
            UnsafeBuffer plain = new UnsafeBuffer(new byte[BlockFrameEncoder.maxFrameLength(BLOCK)]);
            UnsafeBuffer sealed = new UnsafeBuffer(new byte[SealedFrame.maxFrameLength(BLOCK)]);
            List<byte[]> blocks = new ArrayList<>();
            byte[] captured = null;
            for (int i = 0; i < 10; i++) {
                byte[] block = new byte[BLOCK];
                new Random(100 + i).nextBytes(block);
                blocks.add(block);
                int n = encoder.encode(0, VOLUME, ATTACH, i, block, BLOCK, null, false, plain, 0);
                int s = sealer.seal(0, i, plain, 0, n, sealed);
                if (i == 3) {
                    captured = Arrays.copyOf(sealed.byteArray(), s);
                }
                send(sender, BlockStream.ON_DEMAND, sealed, s);
            }
            await("genuine frames", 10_000, () -> opened.size() == 10);

            // Replay: the captured frame again, from the attacker's own publication.
            send(evil, BlockStream.ON_DEMAND, new UnsafeBuffer(captured), captured.length);
            // Forgery: the same frame with its counter far ahead, so it would pass the replay check.
            byte[] forged = captured.clone();
            new UnsafeBuffer(forged).putLong(SealedFrame.COUNTER_OFFSET, 1_000, ByteOrder.LITTLE_ENDIAN);
            send(evil, BlockStream.ON_DEMAND, new UnsafeBuffer(forged), forged.length);
            // Downgrade: a plain frame for the sealed volume.
            int n = encoder.encode(0, VOLUME, ATTACH, 8, new byte[BLOCK], BLOCK, null, false, plain, 0);
            send(evil, BlockStream.ON_DEMAND, plain, n);
            await("refusals", 10_000, () -> refused.size() == 3);

            // The genuine stream goes on after the forgeries.
            byte[] last = new byte[BLOCK];
            new Random(999).nextBytes(last);
            int m = encoder.encode(0, VOLUME, ATTACH, 10, last, BLOCK, null, false, plain, 0);
            send(sender, BlockStream.ON_DEMAND, sealed, sealer.seal(0, 10, plain, 0, m, sealed));
            await("the frame after the forgeries", 10_000, () -> opened.size() == 11);

            assertEquals(List.of(
                new Refused(BlockStream.ON_DEMAND, DecodeResult.REPLAYED, 3),
                new Refused(BlockStream.ON_DEMAND, DecodeResult.BAD_AUTH, 3),
                new Refused(BlockStream.ON_DEMAND, DecodeResult.BAD_AUTH, 8)), refused);
            assertEquals(1, receiver.replayedFrames());
            assertEquals(2, receiver.authFailedFrames());
            assertEquals(3, receiver.corruptFrames());
            for (int i = 0; i < 10; i++) {
                assertArrayEquals(blocks.get(i), opened.get(i), "block " + i);
            }
            assertArrayEquals(last, opened.get(10));
        }
    }
}
