package io.ferry.transport.nbd;

import static io.ferry.transport.nbd.NbdProtocol.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A minimal NBD client for tests: raw handshake steps, then pipelined requests and replies. */
final class NbdTestClient implements AutoCloseable {

    record OptionReply(int option, int type, byte[] data) {
        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    /** A complete reply; structured replies gather their chunks until DONE. */
    record Reply(long cookie, int error, byte[] data, long[] extentLengths, int[] extentFlags, boolean structured) {
    }

    final Socket socket;
    final DataInputStream in;
    final DataOutputStream out;
    final int handshakeFlags;
    long sizeBytes;
    int transmissionFlags;
    boolean structured;
    private final Map<Long, Integer> pendingReads = new HashMap<>();
    private final Map<Long, ByteBuffer> partialReads = new HashMap<>();
    private final Map<Long, Reply> partialStatus = new HashMap<>();
    private final Map<Long, Integer> partialErrors = new HashMap<>();

    private NbdTestClient(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(10_000);
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
        this.out = new DataOutputStream(socket.getOutputStream());
        assertEquals(NBDMAGIC, in.readLong(), "NBDMAGIC");
        assertEquals(IHAVEOPT, in.readLong(), "IHAVEOPT");
        this.handshakeFlags = in.readUnsignedShort();
    }

    /** Connects and reads the server's greeting; the client flags are not sent yet. */
    static NbdTestClient greet(int port) throws IOException {
        return new NbdTestClient(new Socket("127.0.0.1", port));
    }

    /** Greeting, NO_ZEROES, optional structured replies and base:allocation, then NBD_OPT_GO. */
    static NbdTestClient open(int port, String export, boolean structured, boolean allocation) throws IOException {
        NbdTestClient client = greet(port);
        client.clientFlags(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES);
        if (structured) {
            client.option(OPT_STRUCTURED_REPLY, new byte[0]);
            assertEquals(REP_ACK, client.readOptionReply().type());
            client.structured = true;
        }
        if (allocation) {
            client.option(OPT_SET_META_CONTEXT, metaContextData(export, CONTEXT_BASE_ALLOCATION));
            assertEquals(REP_META_CONTEXT, client.readOptionReply().type());
            assertEquals(REP_ACK, client.readOptionReply().type());
        }
        List<OptionReply> replies = client.go(OPT_GO, export);
        assertEquals(REP_ACK, replies.get(replies.size() - 1).type(), "GO for " + export);
        return client;
    }

    void clientFlags(int flags) throws IOException {
        out.writeInt(flags);
        out.flush();
    }

    void option(int option, byte[] data) throws IOException {
        out.writeLong(IHAVEOPT);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    OptionReply readOptionReply() throws IOException {
        assertEquals(OPTION_REPLY_MAGIC, in.readLong(), "option reply magic");
        int option = in.readInt();
        int type = in.readInt();
        byte[] data = new byte[in.readInt()];
        in.readFully(data);
        return new OptionReply(option, type, data);
    }

    /** Sends NBD_OPT_INFO or NBD_OPT_GO and reads replies up to ACK or an error; ACK on GO starts transmission. */
    List<OptionReply> go(int option, String export, int... infos) throws IOException {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.allocate(4 + name.length + 2 + 2 * infos.length)
                .putInt(name.length).put(name).putShort((short) infos.length);
        for (int info : infos) {
            data.putShort((short) info);
        }
        option(option, data.array());
        List<OptionReply> replies = new ArrayList<>();
        while (true) {
            OptionReply reply = readOptionReply();
            replies.add(reply);
            if (reply.type() == REP_INFO) {
                ByteBuffer info = ByteBuffer.wrap(reply.data());
                if (info.getShort() == INFO_EXPORT) {
                    sizeBytes = info.getLong();
                    transmissionFlags = Short.toUnsignedInt(info.getShort());
                }
            } else {
                return replies;
            }
        }
    }

    static byte[] metaContextData(String export, String... queries) {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        int length = 4 + name.length + 4;
        for (String query : queries) {
            length += 4 + query.getBytes(StandardCharsets.UTF_8).length;
        }
        ByteBuffer data = ByteBuffer.allocate(length).putInt(name.length).put(name).putInt(queries.length);
        for (String query : queries) {
            byte[] bytes = query.getBytes(StandardCharsets.UTF_8);
            data.putInt(bytes.length).put(bytes);
        }
        return data.array();
    }

    void send(int flags, int type, long cookie, long offset, long length, byte[] payload) throws IOException {
        out.writeInt(REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeLong(offset);
        out.writeInt((int) length);
        if (payload != null) {
            out.write(payload);
        }
        out.flush();
        if (type == CMD_READ) {
            pendingReads.put(cookie, (int) length);
        }
    }

    void read(long cookie, long offset, int length) throws IOException {
        send(0, CMD_READ, cookie, offset, length, null);
    }

    void write(long cookie, long offset, byte[] data) throws IOException {
        send(0, CMD_WRITE, cookie, offset, data.length, data);
    }

    Reply request(int flags, int type, long offset, long length, byte[] payload) throws IOException {
        send(flags, type, 1, offset, length, payload);
        Reply reply = readReply();
        assertEquals(1, reply.cookie());
        return reply;
    }

    Reply readReply() throws IOException {
        while (true) {
            int magic = in.readInt();
            if (magic == SIMPLE_REPLY_MAGIC) {
                int error = in.readInt();
                long cookie = in.readLong();
                Integer readLength = pendingReads.remove(cookie);
                byte[] data = null;
                if (readLength != null && error == 0) {
                    data = new byte[readLength];
                    in.readFully(data);
                }
                return new Reply(cookie, error, data, null, null, false);
            }
            assertEquals(STRUCTURED_REPLY_MAGIC, magic, "reply magic");
            int flags = in.readUnsignedShort();
            int type = in.readUnsignedShort();
            long cookie = in.readLong();
            int length = in.readInt();
            byte[] payload = new byte[length];
            in.readFully(payload);
            ByteBuffer p = ByteBuffer.wrap(payload);
            switch (type) {
                case REPLY_TYPE_OFFSET_DATA -> {
                    long offset = p.getLong();
                    ByteBuffer target = partialReads.computeIfAbsent(cookie,
                            c -> ByteBuffer.allocate(pendingReads.get(c)));
                    // tests read from offset 0 of their own buffer; record offsets relative to the first chunk
                    target.put(payload, 8, length - 8);
                    assertEquals(true, offset >= 0);
                }
                case REPLY_TYPE_BLOCK_STATUS -> {
                    int descriptors = (length - 4) / 8;
                    p.getInt();
                    long[] lengths = new long[descriptors];
                    int[] states = new int[descriptors];
                    for (int i = 0; i < descriptors; i++) {
                        lengths[i] = Integer.toUnsignedLong(p.getInt());
                        states[i] = p.getInt();
                    }
                    partialStatus.put(cookie, new Reply(cookie, 0, null, lengths, states, true));
                }
                case REPLY_TYPE_ERROR -> partialErrors.put(cookie, p.getInt());
                case REPLY_TYPE_NONE -> { }
                default -> throw new AssertionError("unexpected chunk type " + type);
            }
            if ((flags & REPLY_FLAG_DONE) != 0) {
                Integer readLength = pendingReads.remove(cookie);
                ByteBuffer data = partialReads.remove(cookie);
                Reply status = partialStatus.remove(cookie);
                int error = partialErrors.getOrDefault(cookie, 0);
                partialErrors.remove(cookie);
                byte[] bytes = data != null ? data.array() : readLength != null && readLength == 0 ? new byte[0] : null;
                return new Reply(cookie, error, error == 0 ? bytes : null,
                        status == null ? null : status.extentLengths(), status == null ? null : status.extentFlags(),
                        true);
            }
        }
    }

    /** True when the server has closed its side: the next read sees end of stream. */
    /** Whether the server closed (or reset) the connection; a read that times out is not a close. */
    boolean closedByServer() {
        try {
            return in.read() == -1;
        } catch (java.net.SocketTimeoutException stillOpen) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
