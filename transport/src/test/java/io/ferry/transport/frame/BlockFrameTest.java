package io.ferry.transport.frame;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Random;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class BlockFrameTest {
    private static final int BLOCK = 4096;

    private final BlockFrameEncoder encoder = new BlockFrameEncoder(BLOCK);
    private final BlockFrameDecoder decoder = new BlockFrameDecoder(BLOCK);
    private final UnsafeBuffer out = new UnsafeBuffer(new byte[BlockFrameEncoder.maxFrameLength(BLOCK) + 16]);

    static byte[] text(int length) {
        byte[] words = "the quick brown fox jumps over the lazy dog while ferry copies volume blocks; "
            .getBytes(StandardCharsets.US_ASCII);
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = words[(i * 7 + i / words.length) % words.length];
        }
        return b;
    }

    static byte[] sha256(byte[] b, int length) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(b, 0, length);
        return md.digest();
    }

    private void roundTrip(byte[] block, int length, boolean targetHasHash, FrameKind expected) throws Exception {
        byte[] hash = sha256(block, length);
        int n = encoder.encode(1, 42L, 7L, 99L, block, length, hash, targetHasHash, out, 16);
        assertEquals(expected, encoder.lastKind());
        assertEquals(BlockFrame.HEADER_LENGTH + encoder.lastPayloadBytes(), n);
        assertEquals(DecodeResult.OK, decoder.decode(out, 16, n));
        assertTrue(decoder.headerReadable());
        assertEquals(expected, decoder.kind());
        assertEquals(1, decoder.stream());
        assertEquals(42L, decoder.volumeKey());
        assertEquals(7L, decoder.requestId());
        assertEquals(99L, decoder.blockIndex());
        assertEquals(length, decoder.blockLength());
        if (expected == FrameKind.REF) {
            assertArrayEquals(hash, decoder.hash());
        } else {
            assertArrayEquals(Arrays.copyOf(block, length), decoder.copyBlock());
        }
    }

    @Test
    void everyKindRoundTrips() throws Exception {
        byte[] random = new byte[BLOCK];
        new Random(1).nextBytes(random);
        roundTrip(new byte[BLOCK], BLOCK, false, FrameKind.ZERO);
        roundTrip(new byte[BLOCK], BLOCK, true, FrameKind.ZERO);
        roundTrip(random, BLOCK, true, FrameKind.REF);
        roundTrip(text(BLOCK), BLOCK, false, FrameKind.LZ4);
        roundTrip(random, BLOCK, false, FrameKind.RAW);
        roundTrip(random, 100, false, FrameKind.RAW);
        roundTrip(text(BLOCK), 1000, false, FrameKind.LZ4);
    }

    @Test
    void zeroAfterDataClearsTheReusedBlock() throws Exception {
        byte[] random = new byte[BLOCK];
        new Random(2).nextBytes(random);
        roundTrip(random, BLOCK, false, FrameKind.RAW);
        roundTrip(new byte[BLOCK], BLOCK, false, FrameKind.ZERO);
    }

    @Test
    void lz4OnlyWhenItSavesEnough() throws Exception {
        // Half random, half zeros: LZ4 saves about half, so it is chosen at 1/8 and refused at 3/4.
        byte[] half = new byte[BLOCK];
        byte[] random = new byte[BLOCK / 2];
        new Random(3).nextBytes(random);
        System.arraycopy(random, 0, half, 0, random.length);
        encoder.encode(0, 1, 1, 1, half, BLOCK, null, false, out, 0);
        assertEquals(FrameKind.LZ4, encoder.lastKind());
        BlockFrameEncoder picky = new BlockFrameEncoder(BLOCK, 0.75);
        picky.encode(0, 1, 1, 1, half, BLOCK, null, false, out, 0);
        assertEquals(FrameKind.RAW, picky.lastKind());
    }

    @Test
    void refWithoutAHashIsAProgrammingError() {
        byte[] b = text(BLOCK);
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(0, 1, 1, 1, b, BLOCK, null, true, out, 0));
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(2, 1, 1, 1, b, BLOCK, null, false, out, 0));
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(0, 1, 1, 1, b, BLOCK + 1, null, false, out, 0));
    }

    @Test
    void eachCheckHasItsCode() throws Exception {
        byte[] b = text(BLOCK);
        int n = encoder.encode(0, 5, 6, 7, b, BLOCK, null, false, out, 0);
        byte[] good = Arrays.copyOf(out.byteArray(), n);

        assertEquals(DecodeResult.TRUNCATED, decoder.decode(new UnsafeBuffer(good), 0, 10));
        assertFalse(decoder.headerReadable());
        assertEquals(DecodeResult.TRUNCATED, decoder.decode(new UnsafeBuffer(good), 0, n - 1));
        assertTrue(decoder.headerReadable());
        assertEquals(7, decoder.blockIndex(), "a truncated frame still names its block so it can be fetched again");

        byte[] bad = good.clone();
        bad[BlockFrame.VERSION_OFFSET] = 2;
        assertEquals(DecodeResult.BAD_VERSION, decoder.decode(new UnsafeBuffer(bad), 0, n));
        assertFalse(decoder.headerReadable());

        bad = good.clone();
        bad[BlockFrame.KIND_OFFSET] = 4;
        assertEquals(DecodeResult.BAD_KIND, decoder.decode(new UnsafeBuffer(bad), 0, n));
        bad = good.clone();
        bad[BlockFrame.STREAM_OFFSET] = 2;
        assertEquals(DecodeResult.BAD_KIND, decoder.decode(new UnsafeBuffer(bad), 0, n));

        bad = good.clone();
        bad[BlockFrame.KIND_OFFSET] = (byte) FrameKind.RAW.ordinal();
        assertEquals(DecodeResult.BAD_LENGTH, decoder.decode(new UnsafeBuffer(bad), 0, n));

        bad = Arrays.copyOf(good, n + 1);
        assertEquals(DecodeResult.BAD_LENGTH, decoder.decode(new UnsafeBuffer(bad), 0, n + 1));

        bad = good.clone();
        bad[n - 1] ^= 1;
        assertEquals(DecodeResult.BAD_CRC, decoder.decode(new UnsafeBuffer(bad), 0, n));
        assertEquals(7, decoder.blockIndex());

        assertEquals(DecodeResult.BAD_LENGTH, decoder.decode(new UnsafeBuffer(good), 1, n));
        assertEquals(DecodeResult.OK, decoder.decode(new UnsafeBuffer(good), 0, n));
    }
}
