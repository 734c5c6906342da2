package io.ferry.bench;

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
import io.ferry.transport.shaping.LinkEmulator;
import io.ferry.transport.shaping.LinkProfile;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Block channel figures over an emulated WAN: background throughput, and on-demand latency (offer to handler, one
 * way) when idle and while background saturates the link. Run with
 * {@code java --add-opens java.base/sun.nio.ch=ALL-UNNAMED -cp ... io.ferry.bench.ChannelBench
 * [rttMs=40] [bandwidthMbit=50] [lossRate=0] [seconds=5] [blockBytes=65536] [window=bdp|default]}.
 */
public final class ChannelBench {
    private static final String HOST = "127.0.0.1";
    /** On-demand requests per latency run; spaced so they do not queue behind each other. */
    private static final int LATENCY_SAMPLES = 200;
    private static final long LATENCY_GAP_MICROS = 10_000;

    private ChannelBench() {
    }

    public static void main(String[] args) throws Exception {
        Duration rtt = Duration.ofMillis(args.length > 0 ? Long.parseLong(args[0]) : 40);
        long bandwidth = (args.length > 1 ? Long.parseLong(args[1]) : 50) * 1_000_000L;
        double loss = args.length > 2 ? Double.parseDouble(args[2]) : 0.0;
        int seconds = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        int block = args.length > 4 ? Integer.parseInt(args[4]) : 64 * 1024;
        boolean bdpWindow = args.length <= 5 || !args[5].equals("default");

        Path dir = Files.createTempDirectory("ferry-channel-bench");
        TransportSettings target = bdpWindow ? TransportSettings.forLink(dir.resolve("target"), bandwidth, rtt, block)
            : TransportSettings.defaults(dir.resolve("target"), block);
        TransportSettings source = bdpWindow ? TransportSettings.forLink(dir.resolve("source"), bandwidth, rtt, block)
            : TransportSettings.defaults(dir.resolve("source"), block);
        System.out.printf("link rtt=%d ms bandwidth=%d Mbit/s loss=%.3f block=%d window=%d term=%d%n",
            rtt.toMillis(), bandwidth / 1_000_000, loss, block, target.receiverWindowBytes(), target.termLengthBytes());

        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        FrameHandler handler = new FrameHandler() {
            @Override
            public void onFrame(BlockStream stream, BlockFrameDecoder frame) {
                if (stream == BlockStream.ON_DEMAND) {
                    latencies.add(System.nanoTime() - frame.requestId());
                }
            }

            @Override
            public void onCorrupt(BlockStream stream, DecodeResult result, BlockFrameDecoder partial) {
                System.out.println("corrupt frame on " + stream + ": " + result);
            }
        };
        try (BlockTransport t = BlockTransport.start(target); BlockTransport s = BlockTransport.start(source)) {
            BlockReceiver receiver = t.receive(HOST, 0, handler);
            try (LinkEmulator link = LinkEmulator.start(HOST, new InetSocketAddress(HOST, receiver.port()),
                LinkProfile.wan(rtt, bandwidth, loss, 1))) {
                BlockSender sender = s.connect(HOST, link.port());
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!(sender.isConnected(BlockStream.ON_DEMAND) && sender.isConnected(BlockStream.BACKGROUND))) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("sender did not connect through the emulator in 10 s");
                    }
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
                }
                onDemand(sender, latencies, block);
                report("on-demand latency idle (after a discarded warm-up run)", onDemand(sender, latencies, block));

                AtomicBoolean flooding = new AtomicBoolean(true);
                Thread flood = new Thread(() -> flood(sender, block, flooding), "bench-background-flood");
                flood.start();
                try {
                    Thread.sleep(1000);
                    long startBytes = receiver.bytesReceived(BlockStream.BACKGROUND);
                    long start = System.nanoTime();
                    long[] busy = onDemand(sender, latencies, block);
                    long remainingMs = seconds * 1000L - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                    if (remainingMs > 0) {
                        Thread.sleep(remainingMs);
                    }
                    double elapsed = (System.nanoTime() - start) / 1e9;
                    double rate = (receiver.bytesReceived(BlockStream.BACKGROUND) - startBytes) / elapsed;
                    System.out.printf("background throughput %.2f MB/s (%.1f Mbit/s, %.0f%% of the link)%n",
                        rate / 1e6, rate * 8 / 1e6, 100 * rate * 8 / bandwidth);
                    report("on-demand latency while background saturates", busy);
                } finally {
                    flooding.set(false);
                    flood.join();
                }
                System.out.printf("datagrams dropped by the link %d, corrupt frames %d%n",
                    link.datagramsDropped(), receiver.corruptFrames());
            }
        }
    }

    private static long[] onDemand(BlockSender sender, ConcurrentLinkedQueue<Long> latencies, int block) {
        latencies.clear();
        BlockFrameEncoder encoder = new BlockFrameEncoder(block);
        UnsafeBuffer buffer =
            new UnsafeBuffer(new byte[BlockFrameEncoder.maxFrameLength(block)]);
        byte[] data = new byte[4096];
        new Random(3).nextBytes(data);
        for (int i = 0; i < LATENCY_SAMPLES; i++) {
            int n = encoder.encode(0, 1, System.nanoTime(), i, data, data.length, null, false, buffer, 0);
            while (sender.offer(BlockStream.ON_DEMAND, buffer, 0, n) != OfferResult.OK) {
                LockSupport.parkNanos(50_000);
            }
            LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(LATENCY_GAP_MICROS));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (latencies.size() < LATENCY_SAMPLES && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        return latencies.stream().mapToLong(Long::longValue).sorted().toArray();
    }

    private static void flood(BlockSender sender, int block, AtomicBoolean flooding) {
        BlockFrameEncoder encoder = new BlockFrameEncoder(block);
        UnsafeBuffer buffer =
            new UnsafeBuffer(new byte[BlockFrameEncoder.maxFrameLength(block)]);
        byte[] data = new byte[block];
        new Random(5).nextBytes(data);
        long i = 0;
        while (flooding.get()) {
            int n = encoder.encode(1, 1, i, i, data, block, null, false, buffer, 0);
            while (flooding.get() && sender.offer(BlockStream.BACKGROUND, buffer, 0, n) != OfferResult.OK) {
                LockSupport.parkNanos(200_000);
            }
            i++;
        }
    }

    private static void report(String what, long[] sortedNanos) {
        if (sortedNanos.length == 0) {
            System.out.println(what + ": no samples arrived");
            return;
        }
        System.out.printf("%s: n=%d p50=%.2f ms p99=%.2f ms max=%.2f ms%n", what, sortedNanos.length,
            sortedNanos[sortedNanos.length / 2] / 1e6,
            sortedNanos[Math.min(sortedNanos.length - 1, (int) (sortedNanos.length * 0.99))] / 1e6,
            Arrays.stream(sortedNanos).max().orElse(0) / 1e6);
    }
}
