package io.ferry.transport.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An export backed by a file, its size fixed at open. Used by tests and as the benchmark's
 * baseline. I/O runs on a small pool of its own so the server's reader keeps reading while the
 * disk works. Java has no SEEK_DATA, so block status scans for zeroes instead, a bounded amount
 * per call; zero runs are reported as allocated-and-zero, never as holes.
 */
public final class FileExport implements NbdExport, AutoCloseable {

    /** Concurrent positional reads and writes on the file. */
    static final int IO_THREADS = 4;
    /** Zero runs are found at this granularity. */
    static final int ZERO_SCAN_GRANULE_BYTES = 64 * 1024;
    /** Bytes read per block-status call; the client asks again for the rest. */
    static final long ZERO_SCAN_BYTES_MAX = 16L << 20;
    private static final int ZEROES_BYTES = 1 << 20;
    private static final byte[] ZEROES = new byte[ZEROES_BYTES];
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final String name;
    private final FileChannel channel;
    private final long sizeBytes;
    private final boolean readOnly;
    private final ExecutorService io;

    private FileExport(String name, FileChannel channel, long sizeBytes, boolean readOnly) {
        this.name = name;
        this.channel = channel;
        this.sizeBytes = sizeBytes;
        this.readOnly = readOnly;
        int instance = INSTANCES.incrementAndGet();
        AtomicInteger threads = new AtomicInteger();
        this.io = Executors.newFixedThreadPool(IO_THREADS, r -> NbdServer.daemon(r,
                "ferry-nbd-file-" + instance + "-" + threads.incrementAndGet()));
    }

    /** Opens an existing file; a writable export is opened for read and write. */
    public static FileExport open(String name, Path file, boolean readOnly) throws IOException {
        Objects.requireNonNull(name, "name");
        FileChannel channel = readOnly
                ? FileChannel.open(file, StandardOpenOption.READ)
                : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            return new FileExport(name, channel, channel.size(), readOnly);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    /** One channel serves every connection and force() covers all of it. */
    @Override
    public boolean canMultiConn() {
        return true;
    }

    @Override
    public CompletionStage<byte[]> read(long offset, int length) {
        return async(() -> {
            ByteBuffer buffer = ByteBuffer.allocate(length);
            readFully(buffer, offset);
            return buffer.array();
        });
    }

    @Override
    public CompletionStage<Void> write(long offset, byte[] data) {
        return async(() -> {
            checkWritable();
            writeFully(ByteBuffer.wrap(data), offset);
            return null;
        });
    }

    @Override
    public CompletionStage<Void> flush() {
        return async(() -> {
            if (!readOnly) {
                channel.force(false);
            }
            return null;
        });
    }

    /** A file cannot punch holes from Java, and trim is only a hint, so this does nothing. */
    @Override
    public CompletionStage<Void> trim(long offset, long length) {
        return readOnly ? CompletableFuture.failedFuture(new IOException("export " + name + " is read-only"))
                : CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> writeZeroes(long offset, long length) {
        return async(() -> {
            checkWritable();
            long done = 0;
            while (done < length) {
                int chunk = (int) Math.min(ZEROES_BYTES, length - done);
                writeFully(ByteBuffer.wrap(ZEROES, 0, chunk), offset + done);
                done += chunk;
            }
            return null;
        });
    }

    @Override
    public CompletionStage<List<Extent>> blockStatus(long offset, long length) {
        return async(() -> {
            long end = Math.min(sizeBytes, offset + Math.min(Math.max(length, 1), ZERO_SCAN_BYTES_MAX));
            List<Extent> extents = new ArrayList<>();
            ByteBuffer buffer = ByteBuffer.allocate(ZERO_SCAN_GRANULE_BYTES);
            long position = offset;
            long runStart = offset;
            boolean runZero = false;
            while (position < end) {
                long granuleEnd = Math.min(sizeBytes, (position / ZERO_SCAN_GRANULE_BYTES + 1) * ZERO_SCAN_GRANULE_BYTES);
                int n = (int) (granuleEnd - position);
                buffer.clear().limit(n);
                readFully(buffer, position);
                boolean zero = Arrays.mismatch(buffer.array(), 0, n, ZEROES, 0, n) == -1;
                if (position > runStart && zero != runZero) {
                    extents.add(new Extent(position - runStart, false, runZero));
                    runStart = position;
                }
                runZero = zero;
                position = granuleEnd;
            }
            extents.add(new Extent(position - runStart, false, runZero));
            return extents;
        });
    }

    @Override
    public void close() throws IOException {
        io.shutdown();
        try {
            if (!io.awaitTermination(NbdServer.JOIN_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
                io.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            channel.close();
        }
    }

    private void checkWritable() throws IOException {
        if (readOnly) {
            throw new IOException("export " + name + " is read-only");
        }
    }

    private void readFully(ByteBuffer buffer, long offset) throws IOException {
        long start = offset - buffer.position();
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, start + buffer.position()) < 0) {
                throw new EOFException("file of export " + name + " ends before " + (start + buffer.limit()));
            }
        }
    }

    private void writeFully(ByteBuffer buffer, long offset) throws IOException {
        long start = offset - buffer.position();
        while (buffer.hasRemaining()) {
            channel.write(buffer, start + buffer.position());
        }
    }

    private <T> CompletionStage<T> async(IoCall<T> call) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return call.run();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, io);
    }

    @FunctionalInterface
    private interface IoCall<T> {
        T run() throws IOException;
    }
}
