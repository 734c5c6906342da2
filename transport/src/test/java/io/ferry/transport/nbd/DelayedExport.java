package io.ferry.transport.nbd;

import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/** Wraps an export and delays each read's completion by a seeded few milliseconds, off the caller's thread. */
final class DelayedExport extends ForwardingExport {

    private final String name;
    private final Random random;
    private final int delayMillisMax;

    DelayedExport(String name, NbdExport delegate, long seed, int delayMillisMax) {
        super(delegate);
        this.name = name;
        this.random = new Random(seed);
        this.delayMillisMax = delayMillisMax;
    }

    @Override
    public String name() {
        return name;
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
}
