package io.ferry.transport.frame;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Random bytes and damaged valid frames must be rejected or decode to exactly the original block, never throw.
 * Sealed (encrypted) frames must open only when intact and only once: any change is BAD_AUTH or another failure.
 * A failure names its seed (SeedExtension); replay with {@code -Dferry.seed=N}.
 */
@ExtendWith(SeedExtension.class)
class BlockFrameFuzzTest {
    private static final int BLOCK = 2048;
    private static final int ROUNDS = 4000;

    @Test
    void damagedFramesAreRejectedOrExact(Seed testSeed) {
        long seed = testSeed.value();
        Random random = new Random(seed);
        BlockFrameEncoder encoder = new BlockFrameEncoder(BLOCK);
        BlockFrameDecoder decoder = new BlockFrameDecoder(BLOCK);
        UnsafeBuffer out = new UnsafeBuffer(new byte[BlockFrameEncoder.maxFrameLength(BLOCK) + 64]);
        int round = 0;
        try {
            for (round = 0; round < ROUNDS; round++) {
                byte[] noise = new byte[random.nextInt(BlockFrameEncoder.maxFrameLength(BLOCK) + 64)];
                random.nextBytes(noise);
                if (noise.length > 0 && random.nextBoolean()) {
                    noise[0] = BlockFrame.VERSION;
                }
                DecodeResult noiseResult = decoder.decode(new UnsafeBuffer(noise), 0, noise.length);
                if (noiseResult == DecodeResult.OK) {
                    fail("random bytes accepted as a frame, round " + round + " seed " + seed);
                }

                int length = 1 + random.nextInt(BLOCK);
                byte[] block = block(random, length);
                byte[] hash = new byte[32];
                random.nextBytes(hash);
                boolean ref = random.nextInt(4) == 0;
                int n = encoder.encode(random.nextInt(2), random.nextLong(), random.nextLong(), random.nextLong(),
                    block, length, hash, ref, out, 0);
                FrameKind kind = encoder.lastKind();
                byte[] frame = Arrays.copyOf(out.byteArray(), n + 64);
                int damagedLength = damage(random, frame, n);
                DecodeResult result = decoder.decode(new UnsafeBuffer(frame), 0, damagedLength);
                if (result == DecodeResult.OK) {
                    assertEquals(kind, decoder.kind(), "accepted frame changed kind");
                    assertEquals(length, decoder.blockLength(), "accepted frame changed length");
                    if (kind == FrameKind.REF) {
                        assertArrayEquals(hash, decoder.hash(), "accepted frame changed hash");
                    } else {
                        assertArrayEquals(Arrays.copyOf(block, length), decoder.copyBlock(),
                            "accepted frame changed bytes");
                    }
                }
            }
        } catch (Throwable t) {
            throw new AssertionError("failed in round " + round, t);
        }
    }

    @Test
    void sealedFramesOpenOnlyIntactAndOnlyOnce(Seed testSeed) {
        long seed = testSeed.value();
        Random random = new Random(seed);
        long volumeKey = random.nextLong();
        long attachId = random.nextLong();
        byte[] keyBytes = new byte[SealedFrame.KEY_LENGTH];
        random.nextBytes(keyBytes);
        ChannelKeys.OpenKey openKey = new ChannelKeys.OpenKey(keyBytes);
        ChannelKeys keys = new ChannelKeys() {
            @Override
            public ChannelKeys.OpenKey key(long v, long a) {
                return v == volumeKey && a == attachId ? openKey : null;
            }

            @Override
            public boolean sealedOnly(long v) {
                return v == volumeKey;
            }
        };
        BlockFrameEncoder encoder = new BlockFrameEncoder(BLOCK);
        FrameSealer sealer = new FrameSealer(keyBytes, volumeKey, attachId, BLOCK);
        SealedFrameDecoder decoder = new SealedFrameDecoder(BLOCK, keys);
        UnsafeBuffer plain = new UnsafeBuffer(new byte[BlockFrameEncoder.maxFrameLength(BLOCK)]);
        UnsafeBuffer out = new UnsafeBuffer(new byte[SealedFrame.maxFrameLength(BLOCK) + 64]);
        int round = 0;
        try {
            for (round = 0; round < ROUNDS; round++) {
                byte[] noise = new byte[random.nextInt(SealedFrame.maxFrameLength(BLOCK) + 64)];
                random.nextBytes(noise);
                if (noise.length > 0) {
                    noise[0] = (byte) SealedFrame.VERSION;
                }
                if (noise.length >= SealedFrame.HEADER_LENGTH && random.nextBoolean()) {
                    // Right volume and attachment, so the noise reaches the cipher.
                    new UnsafeBuffer(noise).putLong(SealedFrame.VOLUME_KEY_OFFSET, volumeKey, ByteOrder.LITTLE_ENDIAN);
                    new UnsafeBuffer(noise).putLong(SealedFrame.ATTACH_ID_OFFSET, attachId, ByteOrder.LITTLE_ENDIAN);
                }
                if (decoder.decode(new UnsafeBuffer(noise), 0, noise.length) == DecodeResult.OK) {
                    fail("random bytes accepted as a sealed frame, round " + round + " seed " + seed);
                }

                int length = 1 + random.nextInt(BLOCK);
                byte[] block = block(random, length);
                int stream = random.nextInt(2);
                long index = random.nextInt(1 << 20);
                int n = encoder.encode(stream, volumeKey, attachId, index, block, length, null, false, plain, 0);
                int sealedLength = sealer.seal(stream, index, plain, 0, n, out);
                byte[] frame = Arrays.copyOf(out.byteArray(), sealedLength + 64);
                byte[] intact = Arrays.copyOf(frame, sealedLength);
                int damagedLength = damageSealed(random, frame, sealedLength);
                boolean unchanged = damagedLength == sealedLength && Arrays.equals(intact, Arrays.copyOf(frame, sealedLength));
                DecodeResult result = decoder.decode(new UnsafeBuffer(frame), 0, damagedLength);
                if (!unchanged) {
                    if (result == DecodeResult.OK) {
                        fail("a changed sealed frame was accepted, round " + round + " seed " + seed);
                    }
                    // The intact frame still opens: a forged one did not move the counter.
                    result = decoder.decode(new UnsafeBuffer(intact), 0, sealedLength);
                }
                assertEquals(DecodeResult.OK, result, "intact sealed frame, round " + round);
                assertArrayEquals(Arrays.copyOf(block, length), decoder.frame().copyBlock(), "opened frame changed bytes");
                assertEquals(index, decoder.frame().blockIndex());
                assertEquals(DecodeResult.REPLAYED, decoder.decode(new UnsafeBuffer(intact), 0, sealedLength), "a replay opened");
                // A plain frame for the sealed volume is refused: no downgrade.
                assertEquals(DecodeResult.BAD_AUTH, decoder.decode(plain, 0, n));
                assertEquals(index, decoder.frame().blockIndex(), "a refused frame still names its block, to fetch it again");
            }
        } catch (Throwable t) {
            throw new AssertionError("failed in round " + round + " seed " + seed, t);
        }
    }

    /** Damages a sealed frame in place and returns the length to decode. Sometimes leaves it intact. */
    private static int damageSealed(Random random, byte[] frame, int n) {
        switch (random.nextInt(5)) {
            case 0 -> {
                return n;
            }
            case 1 -> {
                int flips = 1 + random.nextInt(4);
                for (int i = 0; i < flips; i++) {
                    int bit = 8 + random.nextInt((n - 1) * 8);
                    frame[bit / 8] ^= (byte) (1 << (bit % 8));
                }
                return n;
            }
            case 2 -> {
                return random.nextInt(n);
            }
            case 3 -> {
                return n + 1 + random.nextInt(64);
            }
            default -> {
                // The clear header: another block index, counter or stream under the same tag.
                int[] fields = {SealedFrame.BLOCK_INDEX_OFFSET, SealedFrame.COUNTER_OFFSET, SealedFrame.STREAM_OFFSET};
                int at = fields[random.nextInt(fields.length)];
                frame[at] ^= (byte) (1 + random.nextInt(255));
                return n;
            }
        }
    }

    private static byte[] block(Random random, int length) {
        byte[] b = new byte[length];
        switch (random.nextInt(3)) {
            case 0 -> { }
            case 1 -> random.nextBytes(b);
            default -> {
                for (int i = 0; i < length; i++) {
                    b[i] = (byte) ('a' + random.nextInt(4));
                }
            }
        }
        return b;
    }

    /** Damages a frame in place and returns the length to decode. Sometimes leaves it intact. */
    private static int damage(Random random, byte[] frame, int n) {
        UnsafeBuffer view = new UnsafeBuffer(frame);
        switch (random.nextInt(7)) {
            case 0 -> {
                return n;
            }
            case 1 -> {
                int flips = 1 + random.nextInt(4);
                for (int i = 0; i < flips; i++) {
                    int bit = random.nextInt(n * 8);
                    frame[bit / 8] ^= (byte) (1 << (bit % 8));
                }
                return n;
            }
            case 2 -> {
                return random.nextInt(n);
            }
            case 3 -> {
                return n + 1 + random.nextInt(64);
            }
            case 4 -> {
                int field = random.nextBoolean() ? BlockFrame.BLOCK_LENGTH_OFFSET : BlockFrame.PAYLOAD_LENGTH_OFFSET;
                int value = view.getInt(field, ByteOrder.LITTLE_ENDIAN);
                view.putInt(field, random.nextBoolean() ? value + 1 + random.nextInt(64) : random.nextInt(),
                    ByteOrder.LITTLE_ENDIAN);
                return random.nextBoolean() ? n : Math.min(frame.length, n + random.nextInt(64));
            }
            case 5 -> {
                frame[BlockFrame.KIND_OFFSET] = (byte) random.nextInt(5);
                return n;
            }
            default -> {
                int at = BlockFrame.HEADER_LENGTH + random.nextInt(Math.max(1, n - BlockFrame.HEADER_LENGTH));
                if (at < n) {
                    frame[at] = (byte) random.nextInt(256);
                }
                return n;
            }
        }
    }
}
