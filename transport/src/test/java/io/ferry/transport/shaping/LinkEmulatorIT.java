package io.ferry.transport.shaping;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.transport.aeron.BlockReceiver;
import io.ferry.transport.aeron.BlockSender;
import io.ferry.transport.aeron.BlockStream;
import io.ferry.transport.aeron.BlockTransport;
import io.ferry.transport.aeron.FrameHandler;
import io.ferry.transport.aeron.OfferResult;
import io.ferry.transport.aeron.TransportSettings;
import io.ferry.transport.frame.BlockFrameDecoder;
import io.ferry.transport.frame.BlockFrameEncoder;
import io.ferry.transport.frame.DecodeResult;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The block channel through an emulated WAN: Aeron repairs loss, and only a BDP-sized window fills the link. */
class LinkEmulatorIT {
    private static final String HOST = "127.0.0.1";
    private static final Duration RTT = Duration.ofMillis(40);
    private static final long BANDWIDTH = 50_000_000;
    private static final int BLOCK = 64 * 1024;

    @TempDir
    Path dir;

    private static final class Counting implements FrameHandler {
        final long[] next = new long[2];
        final List<String> problems = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void onFrame(BlockStream stream, BlockFrameDecoder frame) {
            int s = stream.ordinal();
            if (frame.blockIndex() != next[s]) {
                problems.add(stream + " expected " + next[s] + " got " + frame.blockIndex());
            }
            next[s] = frame.blockIndex() + 1;
            byte[] want = content(s, frame.blockIndex(), frame.blockLength());
            if (!Arrays.equals(want, 0, want.length, frame.blockBytes(), 0, frame.blockLength())) {
                problems.add(stream + " block " + frame.blockIndex() + " differs");
            }
        }

        @Override
        public void onCorrupt(BlockStream stream, DecodeResult result, BlockFrameDecoder partial) {
            problems.add(stream + " corrupt " + result);
        }
    }

    static byte[] content(int stream, long index, int length) {
        byte[] b = new byte[length];
        new Random(index * 2 + stream).nextBytes(b);
        return b;
    }

    static void await(String what, long timeoutMs, BooleanSupplier done) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    @Test
    void lossIsRepairedAndEveryFrameArrivesInOrder() throws Exception {
        TransportSettings target = TransportSettings.forLink(dir.resolve("t"), BANDWIDTH, RTT, 8192);
        TransportSettings source = TransportSettings.forLink(dir.resolve("s"), BANDWIDTH, RTT, 8192);
        Counting handler = new Counting();
        int perStream = 1500;
        try (BlockTransport t = BlockTransport.start(target); BlockTransport s = BlockTransport.start(source)) {
            BlockReceiver receiver = t.receive(HOST, 0, handler);
            try (LinkEmulator link = LinkEmulator.start(HOST, new InetSocketAddress(HOST, receiver.port()),
                LinkProfile.wan(RTT, BANDWIDTH, 0.01, 11))) {
                BlockSender sender = s.connect(HOST, link.port());
                BlockFrameEncoder encoder = new BlockFrameEncoder(8192);
                UnsafeBuffer buffer = new UnsafeBuffer(new byte[BlockFrameEncoder.maxFrameLength(8192)]);
                for (long i = 0; i < perStream; i++) {
                    for (BlockStream stream : BlockStream.values()) {
                        byte[] b = content(stream.ordinal(), i, 4096);
                        int n = encoder.encode(stream.frameCode(), 1, i, i, b, b.length, null, false, buffer, 0);
                        OfferResult r;
                        while ((r = sender.offer(stream, buffer, 0, n)) != OfferResult.OK) {
                            assertTrue(r == OfferResult.BACK_PRESSURED || r == OfferResult.NOT_CONNECTED, r.name());
                            LockSupport.parkNanos(200_000);
                        }
                    }
                }
                await("all frames through a lossy link", 30_000,
                    () -> receiver.framesReceived(BlockStream.ON_DEMAND) == perStream
                        && receiver.framesReceived(BlockStream.BACKGROUND) == perStream);
                System.out.printf("1%% loss: %d datagrams dropped, all %d frames arrived%n",
                    link.datagramsDropped(), 2 * perStream);
                assertTrue(link.datagramsDropped() > 0, "the link lost something");
                assertEquals(List.of(), handler.problems);
            }
        }
    }

    @Test
    void bdpWindowFillsTheLinkAndTheDefaultWindowDoesNot() throws Exception {
        double shapedBytesPerSecond = BANDWIDTH / 8.0;
        double small = measure(TransportSettings.defaults(dir.resolve("c"), BLOCK),
            TransportSettings.defaults(dir.resolve("d"), BLOCK));
        double smallCeiling = TransportSettings.WINDOW_MIN_BYTES / (RTT.toNanos() / 1e9);
        // The best of up to three floods: one flood starved of CPU by other builds (load 50 on 2
        // cores carried 2.8 MB/s once) says nothing about the window; no flood can exceed the link.
        double sized = 0;
        for (int attempt = 0; attempt < 3 && !pastTheDefaultWindow(sized, small, smallCeiling); attempt++) {
            sized = Math.max(sized, measure(TransportSettings.forLink(dir.resolve("a" + attempt), BANDWIDTH, RTT, BLOCK),
                TransportSettings.forLink(dir.resolve("b" + attempt), BANDWIDTH, RTT, BLOCK)));
        }
        System.out.printf("link 50 Mbit/s, rtt 40 ms (BDP %d bytes): window sized by forLink %.2f MB/s, "
                + "default 128 KiB window %.2f MB/s, shaped %.2f MB/s%n",
            TransportSettings.bdpBytes(BANDWIDTH, RTT), sized / 1e6, small / 1e6, shapedBytesPerSecond / 1e6);
        // Bounds that hold however loaded the machine is: no window can carry more than the link,
        // and a window carries at most itself per round trip (the emulator never shortens one).
        assertTrue(sized < 1.1 * shapedBytesPerSecond, "BDP-sized window got " + sized + " B/s, more than the link's " + shapedBytesPerSecond);
        assertTrue(small <= 1.05 * smallCeiling, "default window got " + small + " B/s, more than a window per round trip " + smallCeiling);
        // What the BDP-sized window is for: past the default window. Not "close to the link rate": on
        // a loaded 2-core machine the flood itself may get too little CPU for that.
        assertTrue(pastTheDefaultWindow(sized, small, smallCeiling), "BDP-sized window got " + sized + " B/s, not past the default window's ceiling "
            + smallCeiling + " nor half again what the default window carried in this run (" + small + ")");
    }

    /**
     * Past the default window's ceiling, or, on a machine loaded enough that no flood nears the link
     * (a CI run beside other builds: 3.6 MB/s against the default's 1.8), half again what the default
     * window carried in the same run. A BDP-sized window that were no larger than the default would
     * carry the same.
     */
    private static boolean pastTheDefaultWindow(double sized, double small, double smallCeiling) {
        return sized > 1.2 * smallCeiling || sized > 1.5 * small;
    }

    /** Floods BACKGROUND through a clean 50 Mbit/s, 40 ms link and returns frame bytes per second after warm-up. */
    private static double measure(TransportSettings targetSettings, TransportSettings sourceSettings) throws Exception {
        try (BlockTransport t = BlockTransport.start(targetSettings);
             BlockTransport s = BlockTransport.start(sourceSettings)) {
            BlockReceiver receiver = t.receive(HOST, 0, new Counting());
            try (LinkEmulator link = LinkEmulator.start(HOST, new InetSocketAddress(HOST, receiver.port()),
                LinkProfile.wan(RTT, BANDWIDTH, 0.0, 1))) {
                BlockSender sender = s.connect(HOST, link.port());
                await("connection", 10_000, () -> sender.isConnected(BlockStream.BACKGROUND));
                AtomicBoolean flooding = new AtomicBoolean(true);
                Thread flood = new Thread(() -> {
                    BlockFrameEncoder encoder = new BlockFrameEncoder(BLOCK);
                    UnsafeBuffer buffer = new UnsafeBuffer(new byte[BlockFrameEncoder.maxFrameLength(BLOCK)]);
                    long i = 0;
                    while (flooding.get()) {
                        byte[] b = content(1, i, BLOCK);
                        int n = encoder.encode(1, 1, i, i, b, BLOCK, null, false, buffer, 0);
                        while (flooding.get() && sender.offer(BlockStream.BACKGROUND, buffer, 0, n) != OfferResult.OK) {
                            LockSupport.parkNanos(200_000);
                        }
                        i++;
                    }
                }, "test-flood");
                flood.start();
                try {
                    Thread.sleep(1000);
                    long startBytes = receiver.bytesReceived(BlockStream.BACKGROUND);
                    long start = System.nanoTime();
                    Thread.sleep(2500);
                    long bytes = receiver.bytesReceived(BlockStream.BACKGROUND) - startBytes;
                    double seconds = (System.nanoTime() - start) / 1e9;
                    assertEquals(0, receiver.corruptFrames());
                    return bytes / seconds;
                } finally {
                    flooding.set(false);
                    flood.join();
                }
            }
        }
    }
}
