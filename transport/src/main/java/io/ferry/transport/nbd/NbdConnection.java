package io.ferry.transport.nbd;

import static io.ferry.transport.nbd.NbdProtocol.*;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection of {@link NbdServer}. The reader thread runs the handshake, then reads
 * requests and hands them to the export; completions queue replies for the writer thread, so
 * replies leave in completion order and the reader never waits on the socket's send side.
 */
final class NbdConnection {

    private static final Logger LOG = LoggerFactory.getLogger(NbdConnection.class);

    /** Option data beyond this is abuse: real options carry a name and a few queries. */
    static final int OPTION_BYTES_MAX = 64 * 1024;
    /** Options in one handshake; qemu and libnbd send fewer than ten. */
    static final int OPTIONS_MAX = 256;
    /**
     * An oversized WRITE payload up to this multiple of maxRequestBytes is read, dropped and
     * answered EINVAL; a larger one ends the connection rather than tie up the reader.
     */
    static final long OVERSIZED_WRITE_DRAIN_FACTOR = 4;
    /** After NBD_CMD_DISC, how long outstanding requests may take before the socket closes anyway. */
    static final Duration DISCONNECT_DRAIN_TIMEOUT = Duration.ofSeconds(30);
    private static final int SOCKET_BUFFER_BYTES = 64 * 1024;
    /** The id we hand out for base:allocation; the only context there is. */
    private static final int CONTEXT_ID_ALLOCATION = 1;
    /** Largest extent one descriptor can carry, kept 512-aligned as the spec asks. */
    private static final long EXTENT_BYTES_MAX = 0xFFFF_FE00L;
    private static final Reply STOP = out -> { };

    /** A reply, written by the writer thread only. */
    @FunctionalInterface
    private interface Reply {
        void writeTo(DataOutputStream out) throws IOException;
    }

    private final int id;
    private final int port;
    private final Socket socket;
    private final NbdServerSettings settings;
    private final Function<String, Optional<NbdExport>> exports;
    private final Supplier<List<String>> exportNames;
    private final ScheduledExecutorService timer;
    private final Consumer<NbdConnection> onFinished;
    private final Thread reader;
    private final Thread writer;
    private final Semaphore inFlight;
    private final BlockingQueue<Reply> replies = new LinkedBlockingQueue<>();
    private volatile boolean closing;
    private volatile boolean handshakeTimedOut;
    private volatile String ids;

    private DataInputStream in;
    private DataOutputStream out;

    // Handshake state, reader thread only.
    private boolean noZeroes;
    private boolean structuredNegotiated;
    private String allocationContextExport;

    // Fixed when transmission starts; read by completion callbacks on export threads.
    private volatile NbdExport export;
    private volatile long exportSizeBytes;
    private volatile boolean structured;
    private volatile boolean blockStatusEnabled;

    NbdConnection(int id, int port, Socket socket, NbdServerSettings settings,
                  Function<String, Optional<NbdExport>> exports, Supplier<List<String>> exportNames,
                  ScheduledExecutorService timer, Consumer<NbdConnection> onFinished) {
        this.id = id;
        this.port = port;
        this.socket = socket;
        this.settings = settings;
        this.exports = exports;
        this.exportNames = exportNames;
        this.timer = timer;
        this.onFinished = onFinished;
        this.inFlight = new Semaphore(settings.maxInFlightPerConnection());
        this.ids = "port=" + port + " conn=" + id;
        this.reader = NbdServer.daemon(this::run, "ferry-nbd-" + port + "-" + id);
        this.writer = NbdServer.daemon(this::writeLoop, "ferry-nbd-" + port + "-" + id + "-writer");
    }

    void start() {
        reader.start();
    }

    /** Hard disconnect: replies not yet written are dropped. Safe from any thread, any number of times. */
    void close() {
        closing = true;
        NbdServer.closeQuietly(socket);
        reader.interrupt();
        writer.interrupt();
    }

    /** True once both of its threads have run and ended (false before it starts). */
    boolean ended() {
        return reader.getState() == Thread.State.TERMINATED && (writer.getState() == Thread.State.TERMINATED || writer.getState() == Thread.State.NEW);
    }

    void join() {
        NbdServer.join(reader);
        NbdServer.join(writer);
    }

    private void run() {
        ScheduledFuture<?> deadline = timer.schedule(this::handshakeExpired,
                settings.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        boolean graceful = false;
        try {
            LOG.debug("nbd connection accepted {} remote={}", ids, socket.getRemoteSocketAddress());
            socket.setTcpNoDelay(true);
            in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), SOCKET_BUFFER_BYTES));
            out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), SOCKET_BUFFER_BYTES));
            boolean transmit = handshake();
            deadline.cancel(false);
            if (!transmit || handshakeTimedOut) {
                return;
            }
            LOG.info("nbd transmission started {} sizeBytes={} structured={} blockStatus={}",
                    ids, exportSizeBytes, structured, blockStatusEnabled);
            writer.start();
            transmit();
            graceful = true;
            if (!inFlight.tryAcquire(settings.maxInFlightPerConnection(),
                    DISCONNECT_DRAIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("nbd requests still outstanding {}ms after disconnect, closing anyway {}",
                        DISCONNECT_DRAIN_TIMEOUT.toMillis(), ids);
            }
            LOG.info("nbd client disconnected {}", ids);
        } catch (NbdProtocolViolation e) {
            LOG.warn("nbd closing connection after protocol violation {} reason={}", ids, e.getMessage());
        } catch (EOFException e) {
            LOG.info("nbd client closed the connection {}{}", ids, export == null ? " during handshake" : "");
        } catch (IOException e) {
            if (handshakeTimedOut) {
                LOG.warn("nbd handshake timed out {} handshakeTimeout={}", ids, settings.handshakeTimeout());
            } else if (closing) {
                LOG.debug("nbd connection closed {}", ids);
            } else {
                LOG.warn("nbd connection failed {} error={}", ids, e.toString());
            }
        } catch (InterruptedException e) {
            LOG.debug("nbd connection interrupted {}", ids);
        } catch (RuntimeException e) {
            LOG.error("nbd connection failed unexpectedly {}", ids, e);
        } finally {
            deadline.cancel(false);
            finish(graceful);
        }
    }

    /** Graceful: let the writer send what is queued before the socket closes. */
    private void finish(boolean graceful) {
        if (!graceful) {
            close();
        }
        replies.add(STOP);
        NbdServer.join(writer);
        close();
        onFinished.accept(this);
    }

    private void handshakeExpired() {
        handshakeTimedOut = true;
        NbdServer.closeQuietly(socket);
    }

    // ---------------------------------------------------------------- handshake

    /** Returns true when the client entered transmission, false after NBD_OPT_ABORT. */
    private boolean handshake() throws IOException {
        out.writeLong(NBDMAGIC);
        out.writeLong(IHAVEOPT);
        out.writeShort(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
        out.flush();
        int clientFlags = in.readInt();
        if ((clientFlags & ~(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES)) != 0) {
            throw new NbdProtocolViolation("unknown client flags 0x" + Integer.toHexString(clientFlags));
        }
        noZeroes = (clientFlags & FLAG_C_NO_ZEROES) != 0;
        for (int count = 0; count < OPTIONS_MAX; count++) {
            long magic = in.readLong();
            if (magic != IHAVEOPT) {
                throw new NbdProtocolViolation("bad option magic 0x" + Long.toHexString(magic));
            }
            int option = in.readInt();
            long length = Integer.toUnsignedLong(in.readInt());
            if (length > OPTION_BYTES_MAX) {
                throw new NbdProtocolViolation("option " + option + " carries " + length
                        + " bytes, more than " + OPTION_BYTES_MAX);
            }
            byte[] data = new byte[(int) length];
            in.readFully(data);
            Boolean done = option(option, ByteBuffer.wrap(data));
            out.flush();
            if (done != null) {
                return done;
            }
        }
        throw new NbdProtocolViolation("more than " + OPTIONS_MAX + " options in one handshake");
    }

    /** Answers one option: true to enter transmission, false to end the session, null to go on. */
    private Boolean option(int option, ByteBuffer data) throws IOException {
        try {
            switch (option) {
                case OPT_EXPORT_NAME:
                    return exportName(data);
                case OPT_ABORT:
                    optionReply(option, REP_ACK, new byte[0]);
                    LOG.debug("nbd client aborted the handshake {}", ids);
                    return false;
                case OPT_LIST:
                    list(data);
                    return null;
                case OPT_INFO:
                case OPT_GO:
                    return infoOrGo(option, data) ? Boolean.TRUE : null;
                case OPT_STRUCTURED_REPLY:
                    if (data.hasRemaining()) {
                        throw new InvalidOption("NBD_OPT_STRUCTURED_REPLY takes no data");
                    }
                    structuredNegotiated = true;
                    optionReply(option, REP_ACK, new byte[0]);
                    return null;
                case OPT_LIST_META_CONTEXT:
                case OPT_SET_META_CONTEXT:
                    metaContext(option, data);
                    return null;
                default:
                    optionError(option, REP_ERR_UNSUP, "option " + option + " is not supported");
                    return null;
            }
        } catch (InvalidOption | BufferUnderflowException e) {
            String reason = e instanceof InvalidOption ? e.getMessage() : "option data too short";
            LOG.info("nbd invalid option {} option={} reason={}", ids, option, reason);
            optionError(option, REP_ERR_INVALID, reason);
            return null;
        }
    }

    private boolean exportName(ByteBuffer data) throws IOException {
        if (data.remaining() > STRING_BYTES_MAX) {
            throw new NbdProtocolViolation("export name of " + data.remaining() + " bytes");
        }
        String name = string(data, data.remaining());
        Optional<NbdExport> found = exports.apply(name);
        if (found.isEmpty()) {
            // NBD_OPT_EXPORT_NAME cannot carry an error; the spec says to end the session.
            throw new NbdProtocolViolation("NBD_OPT_EXPORT_NAME for unknown export '" + name + "'");
        }
        NbdExport chosen = found.get();
        int flags = enter(chosen, name);
        out.writeLong(exportSizeBytes);
        out.writeShort(flags);
        if (!noZeroes) {
            out.write(new byte[124]);
        }
        return true;
    }

    private void list(ByteBuffer data) throws IOException {
        if (data.hasRemaining()) {
            throw new InvalidOption("NBD_OPT_LIST takes no data");
        }
        for (String name : exportNames.get()) {
            byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
            ByteBuffer reply = ByteBuffer.allocate(4 + bytes.length).putInt(bytes.length).put(bytes);
            optionReply(OPT_LIST, REP_SERVER, reply.array());
        }
        optionReply(OPT_LIST, REP_ACK, new byte[0]);
    }

    private boolean infoOrGo(int option, ByteBuffer data) throws IOException {
        String name = string(data, data.getInt());
        int count = Short.toUnsignedInt(data.getShort());
        if (data.remaining() != 2 * count) {
            throw new InvalidOption("information request list does not match the option length");
        }
        int[] requests = new int[count];
        for (int i = 0; i < count; i++) {
            requests[i] = Short.toUnsignedInt(data.getShort());
        }
        Optional<NbdExport> found = exports.apply(name);
        if (found.isEmpty()) {
            LOG.info("nbd client asked for an unknown export {} name='{}'", ids, name);
            optionError(option, REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return false;
        }
        NbdExport candidate = found.get();
        int flags = transmissionFlags(candidate);
        optionReply(option, REP_INFO, ByteBuffer.allocate(12)
                .putShort((short) INFO_EXPORT).putLong(checkedSize(candidate)).putShort((short) flags).array());
        for (int request : requests) {
            if (request == INFO_BLOCK_SIZE) {
                optionReply(option, REP_INFO, ByteBuffer.allocate(14).putShort((short) INFO_BLOCK_SIZE)
                        .putInt(1).putInt(NbdServerSettings.PREFERRED_BLOCK_BYTES)
                        .putInt(settings.maxRequestBytes()).array());
            } else if (request == INFO_NAME) {
                byte[] bytes = candidate.name().getBytes(StandardCharsets.UTF_8);
                optionReply(option, REP_INFO, ByteBuffer.allocate(2 + bytes.length)
                        .putShort((short) INFO_NAME).put(bytes).array());
            }
        }
        optionReply(option, REP_ACK, new byte[0]);
        if (option == OPT_GO) {
            enter(candidate, name);
            return true;
        }
        return false;
    }

    private void metaContext(int option, ByteBuffer data) throws IOException {
        boolean set = option == OPT_SET_META_CONTEXT;
        if (set) {
            // Replaces the selection even when the option then fails.
            allocationContextExport = null;
            if (!structuredNegotiated) {
                throw new InvalidOption("NBD_OPT_SET_META_CONTEXT needs NBD_OPT_STRUCTURED_REPLY first");
            }
        }
        String name = string(data, data.getInt());
        long queries = Integer.toUnsignedLong(data.getInt());
        boolean allocation = !set && queries == 0;
        for (long i = 0; i < queries; i++) {
            String query = string(data, data.getInt());
            allocation |= query.equals(CONTEXT_BASE_ALLOCATION) || !set && query.equals("base:");
        }
        if (data.hasRemaining()) {
            throw new InvalidOption("trailing bytes after the queries");
        }
        if (exports.apply(name).isEmpty()) {
            optionError(option, REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return;
        }
        if (allocation) {
            int contextId = set ? CONTEXT_ID_ALLOCATION : 0;
            optionReply(option, REP_META_CONTEXT, ByteBuffer.allocate(4 + CONTEXT_BASE_ALLOCATION_BYTES.length)
                    .putInt(contextId).put(CONTEXT_BASE_ALLOCATION_BYTES).array());
            if (set) {
                allocationContextExport = name;
            }
        }
        optionReply(option, REP_ACK, new byte[0]);
    }

    /** Fixes the export and the negotiated features for the transmission phase. */
    private int enter(NbdExport chosen, String requestedName) {
        export = chosen;
        exportSizeBytes = checkedSize(chosen);
        structured = structuredNegotiated;
        blockStatusEnabled = structuredNegotiated && requestedName.equals(allocationContextExport);
        ids = "export=" + chosen.name() + " port=" + port + " conn=" + id;
        return transmissionFlags(chosen);
    }

    private int transmissionFlags(NbdExport candidate) {
        int flags = FLAG_HAS_FLAGS | FLAG_SEND_FLUSH | FLAG_SEND_FUA;
        flags |= candidate.readOnly() ? FLAG_READ_ONLY : FLAG_SEND_TRIM | FLAG_SEND_WRITE_ZEROES;
        if (structuredNegotiated) {
            flags |= FLAG_SEND_DF; // a read is always answered with one data chunk
        }
        if (candidate.canMultiConn()) {
            flags |= FLAG_CAN_MULTI_CONN;
        }
        return flags;
    }

    private static long checkedSize(NbdExport candidate) {
        long size = candidate.sizeBytes();
        if (size < 0) {
            throw new IllegalStateException("export " + candidate.name() + " reports a negative size " + size);
        }
        return size;
    }

    private static String string(ByteBuffer data, int length) {
        if (length < 0 || length > data.remaining()) {
            throw new InvalidOption("string of " + Integer.toUnsignedString(length)
                    + " bytes runs past the option data");
        }
        if (length > STRING_BYTES_MAX) {
            throw new InvalidOption("string of " + length + " bytes is longer than " + STRING_BYTES_MAX);
        }
        byte[] bytes = new byte[length];
        data.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private void optionReply(int option, int type, byte[] data) throws IOException {
        out.writeLong(OPTION_REPLY_MAGIC);
        out.writeInt(option);
        out.writeInt(type);
        out.writeInt(data.length);
        out.write(data);
    }

    private void optionError(int option, int type, String message) throws IOException {
        optionReply(option, type, truncated(message));
    }

    // ---------------------------------------------------------------- transmission

    /** Reads and dispatches requests until NBD_CMD_DISC; EOF and errors end it with an exception. */
    private void transmit() throws IOException, InterruptedException {
        byte[] header = new byte[REQUEST_HEADER_BYTES];
        ByteBuffer h = ByteBuffer.wrap(header);
        while (true) {
            // Stop reading the socket while maxInFlight requests are unanswered; the writer returns permits.
            inFlight.acquire();
            in.readFully(header);
            int magic = h.getInt(0);
            if (magic != REQUEST_MAGIC) {
                throw new NbdProtocolViolation("bad request magic 0x" + Integer.toHexString(magic));
            }
            int flags = Short.toUnsignedInt(h.getShort(4));
            int type = Short.toUnsignedInt(h.getShort(6));
            long cookie = h.getLong(8);
            long offset = h.getLong(16);
            long length = Integer.toUnsignedLong(h.getInt(24));
            if (type == CMD_DISC) {
                inFlight.release();
                return;
            }
            request(flags, type, cookie, offset, length);
        }
    }

    private void request(int flags, int type, long cookie, long offset, long length) throws IOException {
        NbdExport ex = export;
        boolean fua = (flags & CMD_FLAG_FUA) != 0;
        switch (type) {
            case CMD_READ -> {
                int allowed = CMD_FLAG_FUA | (structured ? CMD_FLAG_DF : 0);
                if ((flags & ~allowed) != 0) {
                    error(cookie, EINVAL, "unsupported read flags 0x" + Integer.toHexString(flags));
                } else if (length > settings.maxRequestBytes()) {
                    error(cookie, structured ? EOVERFLOW : EINVAL,
                            "read of " + length + " bytes exceeds " + settings.maxRequestBytes());
                } else if (!inRange(offset, length)) {
                    error(cookie, EINVAL, "read past the end of the export");
                } else if (length == 0) {
                    reply(structured ? noneReply(cookie) : simpleReply(cookie, 0));
                } else {
                    int len = (int) length;
                    submit(cookie, "read", offset, length, () -> ex.read(offset, len),
                            data -> readReply(cookie, offset, len, data));
                }
            }
            case CMD_WRITE -> {
                if (length > settings.maxRequestBytes()) {
                    if (length > OVERSIZED_WRITE_DRAIN_FACTOR * settings.maxRequestBytes()) {
                        throw new NbdProtocolViolation("write payload of " + length + " bytes, limit "
                                + settings.maxRequestBytes());
                    }
                    in.skipNBytes(length);
                    error(cookie, EINVAL, "write of " + length + " bytes exceeds " + settings.maxRequestBytes());
                    return;
                }
                byte[] data = new byte[(int) length];
                in.readFully(data);
                if ((flags & ~CMD_FLAG_FUA) != 0) {
                    error(cookie, EINVAL, "unsupported write flags 0x" + Integer.toHexString(flags));
                } else if (ex.readOnly()) {
                    error(cookie, EPERM, "export is read-only");
                } else if (!inRange(offset, length)) {
                    error(cookie, ENOSPC, "write past the end of the export");
                } else if (length == 0) {
                    reply(simpleReply(cookie, 0));
                } else {
                    submit(cookie, "write", offset, length, () -> durable(ex.write(offset, data), fua, ex),
                            v -> simpleReply(cookie, 0));
                }
            }
            case CMD_FLUSH -> {
                if ((flags & ~CMD_FLAG_FUA) != 0) {
                    error(cookie, EINVAL, "unsupported flush flags 0x" + Integer.toHexString(flags));
                } else {
                    submit(cookie, "flush", offset, length, ex::flush, v -> simpleReply(cookie, 0));
                }
            }
            case CMD_TRIM, CMD_WRITE_ZEROES -> {
                boolean trim = type == CMD_TRIM;
                int allowed = CMD_FLAG_FUA | (trim ? 0 : CMD_FLAG_NO_HOLE);
                if ((flags & ~allowed) != 0) {
                    error(cookie, EINVAL, "unsupported flags 0x" + Integer.toHexString(flags));
                } else if (ex.readOnly()) {
                    error(cookie, EPERM, "export is read-only");
                } else if (!inRange(offset, length)) {
                    error(cookie, trim ? EINVAL : ENOSPC, "request past the end of the export");
                } else if (length == 0) {
                    reply(simpleReply(cookie, 0));
                } else if (trim) {
                    submit(cookie, "trim", offset, length, () -> durable(ex.trim(offset, length), fua, ex),
                            v -> simpleReply(cookie, 0));
                } else {
                    submit(cookie, "write-zeroes", offset, length,
                            () -> durable(ex.writeZeroes(offset, length), fua, ex), v -> simpleReply(cookie, 0));
                }
            }
            case CMD_BLOCK_STATUS -> {
                boolean reqOne = (flags & CMD_FLAG_REQ_ONE) != 0;
                if ((flags & ~(CMD_FLAG_FUA | CMD_FLAG_REQ_ONE)) != 0) {
                    error(cookie, EINVAL, "unsupported block status flags 0x" + Integer.toHexString(flags));
                } else if (!blockStatusEnabled) {
                    error(cookie, EINVAL, "no metadata context was selected");
                } else if (length == 0 || !inRange(offset, length)) {
                    error(cookie, EINVAL, "block status outside the export");
                } else {
                    submit(cookie, "block-status", offset, length, () -> ex.blockStatus(offset, length),
                            extents -> blockStatusReply(cookie, offset, length, reqOne, extents));
                }
            }
            default -> error(cookie, EINVAL, "unsupported command " + type);
        }
    }

    private boolean inRange(long offset, long length) {
        return offset >= 0 && offset <= exportSizeBytes && length <= exportSizeBytes - offset;
    }

    /** FUA: the reply waits until the export has flushed what this command wrote. */
    private static CompletionStage<Void> durable(CompletionStage<Void> op, boolean fua, NbdExport ex) {
        return fua ? op.thenCompose(v -> ex.flush()) : op;
    }

    /** Runs an export operation; its outcome, or any failure, becomes exactly one reply. */
    private <T> void submit(long cookie, String what, long offset, long length, Callable<CompletionStage<T>> op,
                            Function<T, Reply> onSuccess) {
        CompletionStage<T> stage;
        try {
            stage = op.call();
            if (stage == null) {
                throw new IllegalStateException("export returned no completion stage for " + what);
            }
        } catch (Exception e) {
            stage = CompletableFuture.failedFuture(e);
        }
        stage.whenComplete((value, failure) -> {
            Reply reply;
            if (failure == null) {
                try {
                    reply = onSuccess.apply(value);
                } catch (RuntimeException e) {
                    failure = e;
                    reply = null;
                }
            } else {
                reply = null;
            }
            if (failure != null) {
                LOG.warn("nbd {} failed, replying EIO {} offset={} length={} error={}",
                        what, ids, offset, length, failure.toString());
                reply = errorReply(cookie, EIO, what + " failed");
            }
            reply(reply);
        });
    }

    private void reply(Reply reply) {
        if (!closing) {
            replies.add(reply);
        }
    }

    private void error(long cookie, int error, String message) {
        LOG.debug("nbd request refused {} error={} reason={}", ids, error, message);
        reply(errorReply(cookie, error, message));
    }

    private void writeLoop() {
        try {
            while (true) {
                Reply reply = replies.take();
                if (reply == STOP) {
                    out.flush();
                    return;
                }
                reply.writeTo(out);
                inFlight.release();
                if (replies.isEmpty()) {
                    out.flush();
                }
            }
        } catch (InterruptedException e) {
            LOG.debug("nbd writer interrupted {}", ids);
        } catch (IOException e) {
            if (!closing) {
                LOG.warn("nbd reply write failed, closing {} error={}", ids, e.toString());
            }
            close();
        }
    }

    // ---------------------------------------------------------------- replies

    private static Reply simpleReply(long cookie, int error) {
        return out -> {
            out.writeInt(SIMPLE_REPLY_MAGIC);
            out.writeInt(error);
            out.writeLong(cookie);
        };
    }

    private static void chunkHeader(DataOutputStream out, int flags, int type, long cookie, int length)
            throws IOException {
        out.writeInt(STRUCTURED_REPLY_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeInt(length);
    }

    private static Reply noneReply(long cookie) {
        return out -> chunkHeader(out, REPLY_FLAG_DONE, REPLY_TYPE_NONE, cookie, 0);
    }

    private Reply errorReply(long cookie, int error, String message) {
        if (!structured) {
            return simpleReply(cookie, error);
        }
        byte[] text = truncated(message);
        return out -> {
            chunkHeader(out, REPLY_FLAG_DONE, REPLY_TYPE_ERROR, cookie, 6 + text.length);
            out.writeInt(error);
            out.writeShort(text.length);
            out.write(text);
        };
    }

    private Reply readReply(long cookie, long offset, int length, byte[] data) {
        if (data == null || data.length != length) {
            throw new IllegalStateException("export read returned " + (data == null ? "null" : data.length + " bytes")
                    + " for a read of " + length + " bytes");
        }
        if (!structured) {
            return out -> {
                simpleReply(cookie, 0).writeTo(out);
                out.write(data);
            };
        }
        // One data chunk with DONE: the bytes are all in hand, so no error can follow it.
        return out -> {
            chunkHeader(out, REPLY_FLAG_DONE, REPLY_TYPE_OFFSET_DATA, cookie, 8 + length);
            out.writeLong(offset);
            out.write(data);
        };
    }

    private Reply blockStatusReply(long cookie, long offset, long length, boolean reqOne, List<Extent> extents) {
        if (extents == null || extents.isEmpty()) {
            throw new IllegalStateException("export returned no extents for offset " + offset);
        }
        int capacity = Math.min(extents.size(), BLOCK_STATUS_EXTENTS_MAX);
        long[] lengths = new long[capacity];
        int[] states = new int[capacity];
        int count = 0;
        long position = offset;
        for (Extent extent : extents) {
            // Descriptors after the first may start only inside the requested range, and never past the export.
            if (count == capacity || position >= exportSizeBytes || position - offset >= length) {
                break;
            }
            long len = Math.min(Math.min(extent.length(), exportSizeBytes - position), EXTENT_BYTES_MAX);
            if (reqOne) {
                len = Math.min(len, length);
            }
            int state = extent.statusFlags();
            if (count > 0 && states[count - 1] == state && lengths[count - 1] + len <= EXTENT_BYTES_MAX) {
                lengths[count - 1] += len;
            } else {
                lengths[count] = len;
                states[count] = state;
                count++;
            }
            position += len;
            if (reqOne || len < extent.length()) {
                break; // a clipped extent must be the last; the client asks again from where it ends
            }
        }
        int descriptors = count;
        return out -> {
            chunkHeader(out, REPLY_FLAG_DONE, REPLY_TYPE_BLOCK_STATUS, cookie, 4 + 8 * descriptors);
            out.writeInt(CONTEXT_ID_ALLOCATION);
            for (int i = 0; i < descriptors; i++) {
                out.writeInt((int) lengths[i]);
                out.writeInt(states[i]);
            }
        };
    }

    private static byte[] truncated(String message) {
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        return bytes.length <= STRING_BYTES_MAX ? bytes : Arrays.copyOf(bytes, STRING_BYTES_MAX);
    }

    /** The client broke a MUST of the protocol; the connection ends with a hard disconnect. */
    private static final class NbdProtocolViolation extends IOException {
        NbdProtocolViolation(String message) {
            super(message);
        }
    }

    /** An option the client got wrong; answered NBD_REP_ERR_INVALID, the handshake goes on. */
    private static final class InvalidOption extends RuntimeException {
        InvalidOption(String message) {
            super(message);
        }
    }
}
