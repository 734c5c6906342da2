package io.ferry.transport.aeron;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.transport.frame.BlockFrameDecoder;
import io.ferry.transport.frame.BlockFrameEncoder;
import io.ferry.transport.frame.DecodeResult;
import io.ferry.transport.frame.FrameKind;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockTransportIT {
    private static final int BLOCK = 16 * 1024;

    @TempDir
    Path dir;

    /** Deterministic block content for (stream, index): receivers regenerate it to check what arrived. */
    static byte[] block(int stream, long index, int length) {
        byte[] b = new byte[length];
        switch ((int) (index % 4)) {
            case 0 -> { }
            case 1 -> new Random(index * 31 + stream).nextBytes(b);
            default -> {
                for (int i = 0; i < length; i++) {
                    b[i] = (byte) ('a' + (i * (index + stream)) % 7);
                }
            }
        }
        return b;
    }

    static int lengthOf(long index) {
        return 1 + (int) ((index * 7919) % BLOCK);
    }

    /** Checks order and content per stream; records the first problems. */
    static final class CheckingHandler implements FrameHandler {
        final long[] next = new long[2];
        final List<String> problems = Collections.synchronizedList(new ArrayList<>());
        final ConcurrentLinkedQueue<Long> onDemandLatenciesNs = new ConcurrentLinkedQueue<>();

        @Override
        public void onFrame(BlockStream stream, BlockFrameDecoder frame) {
            int s = stream.ordinal();
            if (frame.stream() != stream.frameCode()) {
                problems.add("frame for stream " + frame.stream() + " arrived on " + stream);
            }
            if (frame.volumeKey() == -1) {
                onDemandLatenciesNs.add(System.nanoTime() - frame.requestId());
                return;
            }
            if (frame.blockIndex() != next[s]) {
                problems.add(stream + " expected block " + next[s] + " got " + frame.blockIndex());
            }
            next[s] = frame.blockIndex() + 1;
            int length = lengthOf(frame.blockIndex());
            byte[] want = block(s, frame.blockIndex(), length);
            if (frame.kind() == FrameKind.REF || frame.blockLength() != length
                || !Arrays.equals(want, 0, length, frame.blockBytes(), 0, length)) {
                problems.add(stream + " block " + frame.blockIndex() + " arrived different");
            }
        }

        @Override
        public void onCorrupt(BlockStream stream, DecodeResult result, BlockFrameDecoder partial) {
            problems.add(stream + " corrupt frame " + result);
        }
    }

    static void await(String what, long timeoutMs, java.util.function.BooleanSupplier done) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    /** Offers until accepted; back pressure parks briefly instead of spinning. */
    static void send(BlockSender sender, BlockStream stream, UnsafeBuffer buffer, int length) {
        while (true) {
            OfferResult result = sender.offer(stream, buffer, 0, length);
            if (result == OfferResult.OK) {
                return;
            }
            if (result != OfferResult.BACK_PRESSURED && result != OfferResult.NOT_CONNECTED) {
                throw new AssertionError("offer failed: " + result);
            }
            LockSupport.parkNanos(50_000);
        }
    }

    @Test
    void thousandsOfFramesOnBothStreamsArriveIntactAndInOrder() throws Exception {
        Set<String> threadsBefore = threadNames();
        int perStream = 3000;
        CheckingHandler handler = new CheckingHandler();
        try (BlockTransport target = BlockTransport.start(TransportSettings.defaults(dir.resolve("target"), BLOCK));
             BlockTransport source = BlockTransport.start(TransportSettings.defaults(dir.resolve("source"), BLOCK))) {
            BlockReceiver receiver = target.receive("127.0.0.1", 0, handler);
            assertTrue(receiver.port() > 0, "port 0 resolves to the bound port");
            BlockSender sender = source.connect("127.0.0.1", receiver.port());
            await("connection", 10_000, () -> sender.isConnected(BlockStream.ON_DEMAND)
                && sender.isConnected(BlockStream.BACKGROUND));

            BlockFrameEncoder encoder = new BlockFrameEncoder(BLOCK);
            UnsafeBuffer buffer = new UnsafeBuffer(new byte[BlockFrameEncoder.maxFrameLength(BLOCK)]);
            for (long i = 0; i < perStream; i++) {
                for (BlockStream stream : BlockStream.values()) {
                    int s = stream.ordinal();
                    int length = lengthOf(i);
                    int n = encoder.encode(stream.frameCode(), 1, i, i, block(s, i, length), length, null, false,
                        buffer, 0);
                    send(sender, stream, buffer, n);
                }
            }
            await("all frames", 30_000, () -> receiver.framesReceived(BlockStream.ON_DEMAND) == perStream
                && receiver.framesReceived(BlockStream.BACKGROUND) == perStream);
            assertEquals(List.of(), handler.problems);
            assertEquals(0, receiver.corruptFrames());
            assertEquals(sender.bytesSent(BlockStream.BACKGROUND), receiver.bytesReceived(BlockStream.BACKGROUND));
        }
        await("threads to stop", 10_000, () -> threadNames().stream().noneMatch(n -> !threadsBefore.contains(n)
            && (n.contains("ferry-block") || n.contains("aeron") || n.contains("conductor")
            || n.contains("sender") || n.contains("receiver"))));
    }

    @Test
    void onDemandFramesPassABackgroundFlood() throws Exception {
        int big = 64 * 1024;
        CheckingHandler handler = new CheckingHandler();
        try (BlockTransport target = BlockTransport.start(TransportSettings.defaults(dir.resolve("target"), big));
             BlockTransport source = BlockTransport.start(TransportSettings.defaults(dir.resolve("source"), big))) {
            BlockReceiver receiver = target.receive("127.0.0.1", 0, new FrameHandler() {
                @Override
                public void onFrame(BlockStream stream, BlockFrameDecoder frame) {
                    if (stream == BlockStream.ON_DEMAND) {
                        handler.onDemandLatenciesNs.add(System.nanoTime() - frame.requestId());
                    }
                }

                @Override
                public void onCorrupt(BlockStream stream, DecodeResult result, BlockFrameDecoder partial) {
                    handler.problems.add(stream + " corrupt " + result);
                }
            });
            BlockSender sender = source.connect("127.0.0.1", receiver.port());
            await("connection", 10_000, () -> sender.isConnected(BlockStream.ON_DEMAND)
                && sender.isConnected(BlockStream.BACKGROUND));

            AtomicBoolean flooding = new AtomicBoolean(true);
            Thread flood = new Thread(() -> {
                BlockFrameEncoder encoder = new BlockFrameEncoder(big);
                UnsafeBuffer buffer = new UnsafeBuffer(new byte[BlockFrameEncoder.maxFrameLength(big)]);
                byte[] noise = new byte[big];
                new Random(7).nextBytes(noise);
                int n = encoder.encode(1, 1, 0, 0, noise, big, null, false, buffer, 0);
                while (flooding.get()) {
                    if (sender.offer(BlockStream.BACKGROUND, buffer, 0, n) != OfferResult.OK) {
                        LockSupport.parkNanos(50_000);
                    }
                }
            }, "test-background-flood");
            flood.start();
            try {
                await("background saturating", 10_000,
                    () -> receiver.bytesReceived(BlockStream.BACKGROUND) > 20L * 1024 * 1024);
                BlockFrameEncoder encoder = new BlockFrameEncoder(big);
                UnsafeBuffer buffer = new UnsafeBuffer(new byte[BlockFrameEncoder.maxFrameLength(big)]);
                byte[] data = block(0, 2, 4096);
                int requests = 50;
                for (int i = 0; i < requests; i++) {
                    int n = encoder.encode(0, -1, System.nanoTime(), i, data, data.length, null, false, buffer, 0);
                    send(sender, BlockStream.ON_DEMAND, buffer, n);
                    int expected = i + 1;
                    await("on-demand frame " + i, 5_000, () -> handler.onDemandLatenciesNs.size() == expected);
                    Thread.sleep(5);
                }
            } finally {
                flooding.set(false);
                flood.join();
            }
            long[] sorted = handler.onDemandLatenciesNs.stream().mapToLong(Long::longValue).sorted().toArray();
            long p50 = sorted[sorted.length / 2] / 1000;
            long max = sorted[sorted.length - 1] / 1000;
            double backgroundMiB = receiver.bytesReceived(BlockStream.BACKGROUND) / (1024.0 * 1024.0);
            System.out.printf("on-demand latency under background flood: p50=%d us max=%d us (background %.0f MiB)%n",
                p50, max, backgroundMiB);
            assertEquals(List.of(), handler.problems);
            // The median says whether on-demand frames queue behind the flood; the maximum is printed,
            // not asserted: one scheduler stall or GC pause on a loaded machine sets it.
            assertTrue(p50 < 20_000, "on-demand p50 " + p50 + " us behind a background flood");
        }
    }

    private static Set<String> threadNames() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
            .collect(Collectors.toSet());
    }
}
