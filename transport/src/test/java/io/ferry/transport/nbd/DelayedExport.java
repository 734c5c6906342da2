package io.ferry.transport.nbd;

import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/** Wraps an export and delays each read's completion by a seeded few milliseconds, off the caller's thread. */
final class DelayedExport implements NbdExport {

    private final NbdExport delegate;
    private final String name;
    private final Random random;
    private final int delayMillisMax;

    DelayedExport(String name, NbdExport delegate, long seed, int delayMillisMax) {
        this.name = name;
        this.delegate = delegate;
        this.random = new Random(seed);
        this.delayMillisMax = delayMillisMax;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long sizeBytes() {
        return delegate.sizeBytes();
    }

    @Override
    public boolean readOnly() {
        return delegate.readOnly();
    }

    @Override
    public CompletionStage<byte[]> read(long offset, int length) {
        long delay;
        synchronized (random) {
            delay = 1 + random.nextInt(delayMillisMax);
        }
        return delegate.read(offset, length).thenCompose(data -> CompletableFuture.supplyAsync(() -> data,
                CompletableFuture.delayedExecutor(delay, TimeUnit.MILLISECONDS)));
    }

    @Override
    public CompletionStage<Void> write(long offset, byte[] data) {
        return delegate.write(offset, data);
    }

    @Override
    public CompletionStage<Void> flush() {
        return delegate.flush();
    }

    @Override
    public CompletionStage<Void> trim(long offset, long length) {
        return delegate.trim(offset, length);
    }

    @Override
    public CompletionStage<Void> writeZeroes(long offset, long length) {
        return delegate.writeZeroes(offset, length);
    }

    @Override
    public CompletionStage<List<Extent>> blockStatus(long offset, long length) {
        return delegate.blockStatus(offset, length);
    }

    @Override
    public boolean canMultiConn() {
        return delegate.canMultiConn();
    }
}
