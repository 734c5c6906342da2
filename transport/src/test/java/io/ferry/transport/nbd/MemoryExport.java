package io.ferry.transport.nbd;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * An in-memory export for tests whose operations complete later, on another thread: after a
 * seeded random delay, and not before {@link #gate} completes. Counts calls and flushes, and can
 * be told to fail.
 */
final class MemoryExport implements NbdExport, AutoCloseable {

    private final String name;
    private final byte[] bytes;
    private final boolean readOnly;
    private final Random random;
    private final int delayMicrosMax;
    private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2, r -> {
        Thread thread = new Thread(r, "memory-export");
        thread.setDaemon(true);
        return thread;
    });
    volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);
    volatile boolean failing;
    volatile boolean throwing;
    volatile List<Extent> extents;
    final AtomicInteger calls = new AtomicInteger();
    final AtomicInteger flushes = new AtomicInteger();

    MemoryExport(String name, byte[] bytes, boolean readOnly, long seed, int delayMicrosMax) {
        this.name = name;
        this.bytes = bytes;
        this.readOnly = readOnly;
        this.random = new Random(seed);
        this.delayMicrosMax = delayMicrosMax;
    }

    MemoryExport(String name, int sizeBytes) {
        this(name, new byte[sizeBytes], false, 0, 0);
    }

    byte[] bytes() {
        synchronized (bytes) {
            return bytes.clone();
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long sizeBytes() {
        return bytes.length;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public CompletionStage<byte[]> read(long offset, int length) {
        return later(() -> {
            synchronized (bytes) {
                return Arrays.copyOfRange(bytes, (int) offset, (int) offset + length);
            }
        });
    }

    @Override
    public CompletionStage<Void> write(long offset, byte[] data) {
        return later(() -> {
            synchronized (bytes) {
                System.arraycopy(data, 0, bytes, (int) offset, data.length);
            }
            return null;
        });
    }

    @Override
    public CompletionStage<Void> flush() {
        return later(() -> {
            flushes.incrementAndGet();
            return null;
        });
    }

    @Override
    public CompletionStage<Void> trim(long offset, long length) {
        return later(() -> null);
    }

    @Override
    public CompletionStage<Void> writeZeroes(long offset, long length) {
        return later(() -> {
            synchronized (bytes) {
                Arrays.fill(bytes, (int) offset, (int) (offset + length), (byte) 0);
            }
            return null;
        });
    }

    @Override
    public CompletionStage<List<Extent>> blockStatus(long offset, long length) {
        List<Extent> fixed = extents;
        return fixed == null ? NbdExport.super.blockStatus(offset, length) : later(() -> fixed);
    }

    private <T> CompletionStage<T> later(Supplier<T> body) {
        calls.incrementAndGet();
        if (throwing) {
            throw new IllegalStateException("export " + name + " throws, as the test asked");
        }
        long delay;
        synchronized (random) {
            delay = delayMicrosMax == 0 ? 0 : random.nextInt(delayMicrosMax);
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        gate.thenRun(() -> scheduler.schedule(() -> {
            if (failing) {
                result.completeExceptionally(new IOException("export " + name + " fails, as the test asked"));
            } else {
                result.complete(body.get());
            }
        }, delay, TimeUnit.MICROSECONDS));
        return result;
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
