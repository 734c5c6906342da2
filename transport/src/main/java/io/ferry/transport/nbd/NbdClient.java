package io.ferry.transport.nbd;

import static io.ferry.transport.nbd.NbdProtocol.*;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;

/**
 * A minimal blocking NBD client (fixed newstyle, NBD_OPT_GO, simple replies, one request at a time), for the
 * benchmark and tests that need to read or write an export without qemu or libnbd. Calls from several threads
 * take turns: there is never more than one request on the wire.
 */
public final class NbdClient implements AutoCloseable {

    /** Largest READ or WRITE payload, the same as the server's default request limit. */
    public static final int REQUEST_BYTES_MAX = 32 << 20;
    /** Largest option reply accepted during the handshake; real ones are a few hundred bytes at most. */
    static final int OPTION_REPLY_BYTES_MAX = 64 * 1024;
    private static final int STREAM_BUFFER_BYTES = 64 * 1024;

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final String export;
    private final long sizeBytes;
    private final int transmissionFlags;
    private long nextCookie = 1;
    /** Set once the stream can no longer be trusted (short read, bad magic, timeout); later calls fail fast. */
    private IOException broken;
    private boolean closed;

    private NbdClient(Socket socket, DataInputStream in, DataOutputStream out, String export, long sizeBytes,
                      int transmissionFlags) {
        this.socket = socket;
        this.in = in;
        this.out = out;
        this.export = export;
        this.sizeBytes = sizeBytes;
        this.transmissionFlags = transmissionFlags;
    }

    /**
     * Connects, runs the handshake and selects {@code export} with NBD_OPT_GO. {@code timeout} bounds the TCP
     * connect and every later wait for the server (socket read timeout).
     */
    public static NbdClient connect(String host, int port, String export, Duration timeout) throws IOException {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(export, "export");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("nbd client timeout must be positive, got " + timeout);
        }
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        if (name.length > STRING_BYTES_MAX) {
            throw new IllegalArgumentException("nbd export name must be at most " + STRING_BYTES_MAX
                    + " bytes, got " + name.length);
        }
        int timeoutMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), timeoutMillis);
            socket.setSoTimeout(timeoutMillis);
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(),
                    STREAM_BUFFER_BYTES));
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(),
                    STREAM_BUFFER_BYTES));
            return handshake(socket, in, out, export, name);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private static NbdClient handshake(Socket socket, DataInputStream in, DataOutputStream out, String export,
                                       byte[] name) throws IOException {
        long magic = in.readLong();
        long opt = in.readLong();
        if (magic != NBDMAGIC || opt != IHAVEOPT) {
            throw new IOException("not a newstyle NBD server: greeting 0x" + Long.toHexString(magic)
                    + " 0x" + Long.toHexString(opt));
        }
        int handshakeFlags = in.readUnsignedShort();
        if ((handshakeFlags & FLAG_FIXED_NEWSTYLE) == 0) {
            throw new IOException("NBD server does not speak fixed newstyle, handshake flags 0x"
                    + Integer.toHexString(handshakeFlags));
        }
        out.writeInt(FLAG_C_FIXED_NEWSTYLE | (handshakeFlags & FLAG_NO_ZEROES));
        // NBD_OPT_GO: name length, name, then zero information requests.
        out.writeLong(IHAVEOPT);
        out.writeInt(OPT_GO);
        out.writeInt(4 + name.length + 2);
        out.writeInt(name.length);
        out.write(name);
        out.writeShort(0);
        out.flush();
        long sizeBytes = -1;
        int transmissionFlags = 0;
        while (true) {
            long replyMagic = in.readLong();
            int option = in.readInt();
            int type = in.readInt();
            long length = Integer.toUnsignedLong(in.readInt());
            if (replyMagic != OPTION_REPLY_MAGIC || option != OPT_GO) {
                throw new IOException("bad NBD option reply: magic 0x" + Long.toHexString(replyMagic)
                        + " option " + option + " (expected NBD_OPT_GO)");
            }
            if (length > OPTION_REPLY_BYTES_MAX) {
                throw new IOException("NBD option reply of " + length + " bytes exceeds " + OPTION_REPLY_BYTES_MAX);
            }
            byte[] data = new byte[(int) length];
            in.readFully(data);
            if (type == REP_ACK) {
                break;
            }
            if ((type & 0x80000000) != 0) {
                abortQuietly(out);
                throw new IOException("NBD server refused export '" + export + "': " + optionErrorName(type)
                        + (data.length > 0 ? ": " + new String(data, StandardCharsets.UTF_8) : ""));
            }
            if (type == REP_INFO && data.length >= 2) {
                ByteBuffer info = ByteBuffer.wrap(data);
                if (Short.toUnsignedInt(info.getShort()) == INFO_EXPORT) {
                    if (data.length != 12) {
                        throw new IOException("NBD_INFO_EXPORT of " + data.length + " bytes, expected 12");
                    }
                    sizeBytes = info.getLong();
                    transmissionFlags = Short.toUnsignedInt(info.getShort());
                }
            }
            // Other information (block size, name, description) is not needed by this client.
        }
        if (sizeBytes < 0) {
            throw new IOException("NBD server acknowledged NBD_OPT_GO for '" + export
                    + "' without a valid NBD_INFO_EXPORT (size " + sizeBytes + ")");
        }
        return new NbdClient(socket, in, out, export, sizeBytes, transmissionFlags);
    }

    public long sizeBytes() {
        return sizeBytes;
    }

    /** Reads {@code length} bytes at {@code offset}; an error reply becomes an IOException naming the error. */
    public synchronized byte[] read(long offset, int length) throws IOException {
        checkRange(offset, length);
        long cookie = send(CMD_READ, offset, length, null);
        awaitReply(cookie, "read", offset, length);
        byte[] data = new byte[length];
        readPayload(data);
        return data;
    }

    public synchronized void write(long offset, byte[] data) throws IOException {
        Objects.requireNonNull(data, "data");
        checkRange(offset, data.length);
        long cookie = send(CMD_WRITE, offset, data.length, data);
        awaitReply(cookie, "write", offset, data.length);
    }

    /** Asks the server to make completed writes durable; does nothing if the export does not take NBD_CMD_FLUSH. */
    public synchronized void flush() throws IOException {
        if ((transmissionFlags & FLAG_SEND_FLUSH) == 0) {
            return;
        }
        long cookie = send(CMD_FLUSH, 0, 0, null);
        awaitReply(cookie, "flush", 0, 0);
    }

    /** Sends NBD_CMD_DISC (best effort; the server sends no reply) and closes the socket. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (broken == null) {
                writeHeader(CMD_DISC, nextCookie++, 0, 0);
                out.flush();
            }
        } catch (IOException ignored) {
            // the server may already be gone; the socket is closed either way
        } finally {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing is best effort
            }
        }
    }

    private static void checkRange(long offset, int length) {
        if (offset < 0) {
            throw new IllegalArgumentException("nbd offset must not be negative, got " + offset);
        }
        if (length < 0 || length > REQUEST_BYTES_MAX) {
            throw new IllegalArgumentException("nbd request length must be between 0 and " + REQUEST_BYTES_MAX
                    + ", got " + length);
        }
    }

    private long send(int type, long offset, int length, byte[] payload) throws IOException {
        ensureUsable();
        long cookie = nextCookie++;
        try {
            writeHeader(type, cookie, offset, length);
            if (payload != null) {
                out.write(payload);
            }
            out.flush();
        } catch (IOException e) {
            throw breakWith(e);
        }
        return cookie;
    }

    private void writeHeader(int type, long cookie, long offset, int length) throws IOException {
        out.writeInt(REQUEST_MAGIC);
        out.writeShort(0);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeLong(offset);
        out.writeInt(length);
    }

    /** Reads a simple reply header for {@code cookie}; a non-zero error is thrown and leaves the stream usable. */
    private void awaitReply(long cookie, String what, long offset, int length) throws IOException {
        int magic;
        int error;
        long replyCookie;
        try {
            magic = in.readInt();
            if (magic != SIMPLE_REPLY_MAGIC) {
                throw new IOException("expected an NBD simple reply, got magic 0x" + Integer.toHexString(magic));
            }
            error = in.readInt();
            replyCookie = in.readLong();
        } catch (IOException e) {
            throw breakWith(e);
        }
        if (replyCookie != cookie) {
            throw breakWith(new IOException("NBD reply for cookie " + replyCookie + " while waiting for " + cookie));
        }
        if (error != 0) {
            throw new IOException("NBD " + what + " of export '" + export + "' offset=" + offset + " length="
                    + length + " failed: " + errorName(error));
        }
    }

    private void readPayload(byte[] data) throws IOException {
        try {
            in.readFully(data);
        } catch (IOException e) {
            throw breakWith(e);
        }
    }

    private void ensureUsable() throws IOException {
        if (closed) {
            throw new IOException("NBD client for export '" + export + "' is closed");
        }
        if (broken != null) {
            throw new IOException("NBD connection for export '" + export + "' is broken", broken);
        }
    }

    private IOException breakWith(IOException e) {
        broken = e;
        try {
            socket.close();
        } catch (IOException ignored) {
            // the connection is already unusable
        }
        return e;
    }

    private static void abortQuietly(DataOutputStream out) {
        try {
            out.writeLong(IHAVEOPT);
            out.writeInt(OPT_ABORT);
            out.writeInt(0);
            out.flush();
        } catch (IOException ignored) {
            // the handshake failed already; abort is a courtesy
        }
    }

    static String errorName(int error) {
        String name = switch (error) {
            case EPERM -> "EPERM";
            case EIO -> "EIO";
            case ENOMEM -> "ENOMEM";
            case EINVAL -> "EINVAL";
            case ENOSPC -> "ENOSPC";
            case EOVERFLOW -> "EOVERFLOW";
            case ENOTSUP -> "ENOTSUP";
            case ESHUTDOWN -> "ESHUTDOWN";
            default -> "error";
        };
        return name + " (" + Integer.toUnsignedString(error) + ")";
    }

    static String optionErrorName(int type) {
        return switch (type) {
            case REP_ERR_UNSUP -> "NBD_REP_ERR_UNSUP";
            case REP_ERR_POLICY -> "NBD_REP_ERR_POLICY";
            case REP_ERR_INVALID -> "NBD_REP_ERR_INVALID";
            case REP_ERR_PLATFORM -> "NBD_REP_ERR_PLATFORM";
            case REP_ERR_TLS_REQD -> "NBD_REP_ERR_TLS_REQD";
            case REP_ERR_UNKNOWN -> "NBD_REP_ERR_UNKNOWN";
            case REP_ERR_SHUTDOWN -> "NBD_REP_ERR_SHUTDOWN";
            case REP_ERR_BLOCK_SIZE_REQD -> "NBD_REP_ERR_BLOCK_SIZE_REQD";
            case REP_ERR_TOO_BIG -> "NBD_REP_ERR_TOO_BIG";
            default -> "option error 0x" + Integer.toHexString(type);
        };
    }
}
