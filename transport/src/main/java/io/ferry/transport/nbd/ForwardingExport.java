package io.ferry.transport.nbd;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * An export that passes every call to another one, for wrappers that change one or two calls
 * (timing reads, delaying them in tests): they override those and inherit the rest, so a call the
 * interface gains, or one with a default, is forwarded instead of silently answered by the default.
 */
public abstract class ForwardingExport implements NbdExport {

    protected final NbdExport delegate;

    protected ForwardingExport(NbdExport delegate) {
        if (delegate == null) {
            throw new IllegalArgumentException("a forwarding export needs an export to forward to");
        }
        this.delegate = delegate;
    }

    @Override
    public String name() {
        return delegate.name();
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
        return delegate.read(offset, length);
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
