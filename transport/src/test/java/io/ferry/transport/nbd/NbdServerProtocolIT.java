package io.ferry.transport.nbd;

import static io.ferry.transport.nbd.NbdProtocol.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(SeedExtension.class)
class NbdServerProtocolIT {

    /** The class's seed; SeedExtension prints it with its replay option when a test fails. */
    private static long seed;

    @BeforeAll
    static void drawSeed(Seed classSeed) {
        seed = classSeed.value();
    }

    private static final int SIZE = 1 << 20;

    @TempDir
    Path dir;

    private final Map<String, NbdExport> exports = new HashMap<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private NbdServer server;

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable closeable : closeables) {
            closeable.close();
        }
        if (server != null) {
            int port = server.port();
            server.close();
            assertEquals(List.of(), liveThreads(port), "threads left after close");
        }
    }

    private NbdServer start(NbdServerSettings settings) throws IOException {
        server = NbdServer.start(settings, name -> Optional.ofNullable(exports.get(name)),
                () -> List.copyOf(exports.keySet()));
        return server;
    }

    private NbdServer start() throws IOException {
        return start(NbdServerSettings.defaults());
    }

    private MemoryExport memory(String name, boolean readOnly, int delayMicrosMax) {
        byte[] bytes = new byte[SIZE];
        new Random(seed).nextBytes(bytes);
        MemoryExport export = new MemoryExport(name, bytes, readOnly, seed, delayMicrosMax);
        exports.put(name, export);
        closeables.add(export);
        return export;
    }

    private <T extends AutoCloseable> T closing(T closeable) {
        closeables.add(0, closeable);
        return closeable;
    }

    private static List<String> liveThreads(int port) {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith("ferry-nbd-" + port + "-")).toList();
    }

    private static void waitUntil(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void fileExportRoundTripWithSimpleReplies() throws Exception {
        System.out.println("seed=" + seed);
        Path file = dir.resolve("disk.img");
        byte[] content = new byte[SIZE];
        new Random(seed).nextBytes(content);
        Files.write(file, content);
        exports.put("vol-1", closing(FileExport.open("vol-1", file, false)));
        start();

        try (NbdTestClient client = closing(NbdTestClient.greet(server.port()))) {
            assertEquals(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, client.handshakeFlags);
            client.clientFlags(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES);
            List<NbdTestClient.OptionReply> replies = client.go(OPT_GO, "vol-1", INFO_BLOCK_SIZE);
            assertEquals(REP_ACK, replies.get(replies.size() - 1).type());
            ByteBuffer blockSize = replies.stream().map(r -> ByteBuffer.wrap(r.data()))
                    .filter(b -> b.remaining() == 14 && b.getShort(0) == INFO_BLOCK_SIZE).findFirst().orElseThrow();
            assertEquals(1, blockSize.getInt(2));
            assertEquals(4096, blockSize.getInt(6));
            assertEquals(32 << 20, blockSize.getInt(10));
            assertEquals(SIZE, client.sizeBytes);
            int expected = FLAG_HAS_FLAGS | FLAG_SEND_FLUSH | FLAG_SEND_FUA | FLAG_SEND_TRIM
                    | FLAG_SEND_WRITE_ZEROES | FLAG_CAN_MULTI_CONN;
            assertEquals(expected, client.transmissionFlags);

            NbdTestClient.Reply read = client.request(0, CMD_READ, 8192, 4096, null);
            assertEquals(0, read.error());
            assertArrayEquals(Arrays.copyOfRange(content, 8192, 12288), read.data());

            byte[] data = new byte[5000];
            Arrays.fill(data, (byte) 0x5a);
            assertEquals(0, client.request(0, CMD_WRITE, 1000, data.length, data).error());
            assertEquals(0, client.request(0, CMD_FLUSH, 0, 0, null).error());
            assertArrayEquals(data, client.request(0, CMD_READ, 1000, data.length, null).data());
            assertEquals(0, client.request(0, CMD_WRITE_ZEROES, 0, 4096, null).error());
            assertArrayEquals(new byte[4096], client.request(0, CMD_READ, 0, 4096, null).data());
            assertEquals(0, client.request(0, CMD_TRIM, 65536, 4096, null).error());
            byte[] onDisk = Files.readAllBytes(file);
            assertArrayEquals(Arrays.copyOfRange(data, 3096, 5000), Arrays.copyOfRange(onDisk, 4096, 6000),
                    "the write reached the file, after the zeroes");

            client.send(0, CMD_DISC, 9, 0, 0, null);
            assertTrue(client.closedByServer(), "server closes after NBD_CMD_DISC");
        }
    }

    @Test
    void structuredRepliesForReadsAndErrors() throws Exception {
        MemoryExport export = memory("vol-1", false, 0);
        start();
        try (NbdTestClient client = closing(NbdTestClient.open(server.port(), "vol-1", true, false))) {
            assertTrue((client.transmissionFlags & FLAG_SEND_DF) != 0, "DF once structured replies are on");
            NbdTestClient.Reply read = client.request(0, CMD_READ, 4096, 8192, null);
            assertTrue(read.structured());
            assertArrayEquals(Arrays.copyOfRange(export.bytes(), 4096, 12288), read.data());
            assertArrayEquals(Arrays.copyOfRange(export.bytes(), 0, 512),
                    client.request(CMD_FLAG_DF, CMD_READ, 0, 512, null).data());
            assertEquals(EINVAL, client.request(0, CMD_READ, SIZE - 10, 20, null).error());
            assertEquals(EOVERFLOW, client.request(0, CMD_READ, 0, (32 << 20) + 1, null).error());
            NbdTestClient.Reply empty = client.request(0, CMD_READ, 0, 0, null);
            assertEquals(0, empty.error());
            assertArrayEquals(new byte[0], empty.data());
            assertEquals(EINVAL, client.request(0, CMD_BLOCK_STATUS, 0, 4096, null).error(),
                    "block status without a metadata context");
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredOutOfOrderAndCorrectly() throws Exception {
        System.out.println("seed=" + seed);
        MemoryExport export = memory("vol-1", false, 5_000);
        start();
        Random random = new Random(seed);
        for (boolean structured : new boolean[] {false, true}) {
            try (NbdTestClient client = closing(NbdTestClient.open(server.port(), "vol-1", structured, false))) {
                byte[] expected = export.bytes();
                int writes = 32;
                for (int i = 0; i < writes; i++) {
                    byte[] data = new byte[4096];
                    random.nextBytes(data);
                    long offset = 4096L * random.nextInt(SIZE / 4096);
                    System.arraycopy(data, 0, expected, (int) offset, data.length);
                    client.write(1000 + i, offset, data);
                    // each write is answered before the next overlapping one could race it
                    assertEquals(0, client.readReply().error());
                }
                int reads = 200;
                long[] offsets = new long[reads];
                int[] lengths = new int[reads];
                for (int i = 0; i < reads; i++) {
                    lengths[i] = 1 + random.nextInt(65536);
                    offsets[i] = random.nextInt(SIZE - lengths[i]);
                    client.read(i, offsets[i], lengths[i]);
                }
                boolean outOfOrder = false;
                long previous = -1;
                for (int i = 0; i < reads; i++) {
                    NbdTestClient.Reply reply = client.readReply();
                    int c = (int) reply.cookie();
                    outOfOrder |= c < previous;
                    previous = c;
                    assertEquals(0, reply.error(), "seed=" + seed);
                    assertArrayEquals(Arrays.copyOfRange(expected, (int) offsets[c], (int) offsets[c] + lengths[c]),
                            reply.data(), "seed=" + seed + " cookie=" + c);
                }
                assertTrue(outOfOrder, "replies came back in request order; seed=" + seed);
                assertArrayEquals(expected, export.bytes());
            }
        }
    }

    @Test
    void exportNameOptionWithAndWithoutZeroPadding() throws Exception {
        memory("vol-1", false, 0);
        start();
        for (boolean noZeroes : new boolean[] {false, true}) {
            try (NbdTestClient client = closing(NbdTestClient.greet(server.port()))) {
                client.clientFlags(FLAG_C_FIXED_NEWSTYLE | (noZeroes ? FLAG_C_NO_ZEROES : 0));
                client.option(OPT_EXPORT_NAME, "vol-1".getBytes(StandardCharsets.UTF_8));
                assertEquals(SIZE, client.in.readLong());
                assertEquals(FLAG_HAS_FLAGS, client.in.readUnsignedShort() & FLAG_HAS_FLAGS);
                if (!noZeroes) {
                    byte[] zeroes = new byte[124];
                    client.in.readFully(zeroes);
                    assertArrayEquals(new byte[124], zeroes);
                }
                assertEquals(0, client.request(0, CMD_READ, 0, 512, null).error());
            }
        }
    }

    @Test
    void unknownExportIsRefused() throws Exception {
        memory("vol-1", false, 0);
        start();
        try (NbdTestClient client = closing(NbdTestClient.greet(server.port()))) {
            client.clientFlags(FLAG_C_FIXED_NEWSTYLE);
            List<NbdTestClient.OptionReply> replies = client.go(OPT_GO, "nope");
            assertEquals(1, replies.size());
            assertEquals(REP_ERR_UNKNOWN, replies.get(0).type());
            assertEquals(REP_ERR_UNKNOWN, client.go(OPT_INFO, "nope").get(0).type());
            assertEquals(REP_ACK, client.go(OPT_GO, "vol-1").get(1).type(), "handshake goes on after the error");
        }
        try (NbdTestClient client = closing(NbdTestClient.greet(server.port()))) {
            client.clientFlags(FLAG_C_FIXED_NEWSTYLE);
            client.option(OPT_EXPORT_NAME, "nope".getBytes(StandardCharsets.UTF_8));
            assertTrue(client.closedByServer(), "EXPORT_NAME cannot carry an error, so the server hangs up");
        }
    }

    @Test
    void unknownOptionsGetErrUnsupAndListAndAbortWork() throws Exception {
        memory("vol-1", false, 0);
        memory("vol-2", true, 0);
        start();
        try (NbdTestClient client = closing(NbdTestClient.greet(server.port()))) {
            client.clientFlags(FLAG_C_FIXED_NEWSTYLE);
            for (int option : new int[] {OPT_STARTTLS, 4, 11, 999}) {
                client.option(option, new byte[3]);
                NbdTestClient.OptionReply reply = client.readOptionReply();
                assertEquals(option, reply.option());
                assertEquals(REP_ERR_UNSUP, reply.type());
            }
            client.option(OPT_LIST, new byte[0]);
            List<String> names = new ArrayList<>();
            NbdTestClient.OptionReply reply;
            while ((reply = client.readOptionReply()).type() == REP_SERVER) {
                ByteBuffer data = ByteBuffer.wrap(reply.data());
                byte[] name = new byte[data.getInt()];
                data.get(name);
                names.add(new String(name, StandardCharsets.UTF_8));
            }
            assertEquals(REP_ACK, reply.type());
            assertEquals(List.of("vol-1", "vol-2"), names.stream().sorted().toList());
            client.option(OPT_LIST, new byte[1]);
            assertEquals(REP_ERR_INVALID, client.readOptionReply().type());

            client.option(OPT_LIST_META_CONTEXT, NbdTestClient.metaContextData("vol-1", "base:"));
            NbdTestClient.OptionReply context = client.readOptionReply();
            assertEquals(REP_META_CONTEXT, context.type());
            assertEquals(CONTEXT_BASE_ALLOCATION, new String(context.data(), 4, context.data().length - 4,
                    StandardCharsets.UTF_8));
            assertEquals(REP_ACK, client.readOptionReply().type());
            client.option(OPT_SET_META_CONTEXT, NbdTestClient.metaContextData("vol-1", CONTEXT_BASE_ALLOCATION));
            assertEquals(REP_ERR_INVALID, client.readOptionReply().type(), "needs structured replies first");
            client.option(OPT_GO, new byte[] {0, 0, 0, 9, 1});
            assertEquals(REP_ERR_INVALID, client.readOptionReply().type(), "name runs past the data");

            client.option(OPT_ABORT, new byte[0]);
            assertEquals(REP_ACK, client.readOptionReply().type());
            assertTrue(client.closedByServer());
        }
    }

    @Test
    void malformedHandshakesCloseTheConnectionWithoutLeakingThreads() throws Exception {
        memory("vol-1", false, 0);
        start(new NbdServerSettings("127.0.0.1", 0, 64, 64, 32 << 20, Duration.ofMillis(300)));
        try (NbdTestClient client = closing(NbdTestClient.greet(server.port()))) {
            client.clientFlags(1 << 7);
            assertTrue(client.closedByServer(), "unknown client flags");
        }
        try (NbdTestClient client = closing(NbdTestClient.greet(server.port()))) {
            client.clientFlags(FLAG_C_FIXED_NEWSTYLE);
            client.out.writeLong(0x1234L);
            client.out.writeLong(0);
            client.out.flush();
            assertTrue(client.closedByServer(), "bad option magic");
        }
        try (NbdTestClient client = closing(NbdTestClient.greet(server.port()))) {
            client.clientFlags(FLAG_C_FIXED_NEWSTYLE);
            client.out.writeLong(IHAVEOPT);
            client.out.writeInt(OPT_GO);
            client.out.writeInt(-1);
            client.out.flush();
            assertTrue(client.closedByServer(), "option data of 4 GiB");
        }
        long start = System.nanoTime();
        try (NbdTestClient client = closing(NbdTestClient.greet(server.port()))) {
            // Within the client's 10 s read timeout (a timeout is not a close), and not before 300 ms.
            assertTrue(client.closedByServer(), "a silent client is dropped at the handshake timeout");
            assertTrue(System.nanoTime() - start >= Duration.ofMillis(300).toNanos(), "dropped before the handshake timeout");
        }
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            socket.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        waitUntil("connections to end", () -> server.connectionCount() == 0);
        waitUntil("connection threads to end", () -> liveThreads(server.port()).stream()
                .allMatch(n -> n.endsWith("-accept") || n.endsWith("-timer")));
    }

    @Test
    void oversizedRequestsAreRefusedAndUnreasonableOnesDisconnect() throws Exception {
        memory("vol-1", false, 0);
        int max = 64 * 1024;
        start(new NbdServerSettings("127.0.0.1", 0, 64, 64, max, Duration.ofSeconds(10)));
        try (NbdTestClient client = closing(NbdTestClient.open(server.port(), "vol-1", false, false))) {
            assertEquals(EINVAL, client.request(0, CMD_READ, 0, max + 1, null).error());
            assertEquals(EINVAL, client.request(0, CMD_WRITE, 0, 2L * max, new byte[2 * max]).error(),
                    "a payload up to 4x the limit is drained and refused");
            assertEquals(0, client.request(0, CMD_READ, 0, max, null).error(), "the connection survives");
            assertEquals(0, client.request(0, CMD_WRITE_ZEROES, 0, SIZE, null).error(),
                    "no payload, so the limit does not apply");
            client.send(0, CMD_WRITE, 7, 0, 0xFFFF_FFFFL, null);
            assertTrue(client.closedByServer(), "a 4 GiB payload is unreasonable");
        }
    }

    @Test
    void connectionsBeyondTheLimitAreClosed() throws Exception {
        memory("vol-1", false, 0);
        start(new NbdServerSettings("127.0.0.1", 0, 2, 64, 32 << 20, Duration.ofSeconds(10)));
        NbdTestClient first = closing(NbdTestClient.open(server.port(), "vol-1", false, false));
        closing(NbdTestClient.open(server.port(), "vol-1", false, false));
        try (Socket third = new Socket("127.0.0.1", server.port())) {
            third.setSoTimeout(5000);
            assertEquals(-1, third.getInputStream().read(), "third connection is closed at once");
        }
        first.send(0, CMD_DISC, 1, 0, 0, null);
        assertTrue(first.closedByServer());
        waitUntil("a slot to free up", () -> server.connectionCount() == 1);
        NbdTestClient again = closing(NbdTestClient.open(server.port(), "vol-1", false, false));
        assertEquals(0, again.request(0, CMD_READ, 0, 512, null).error());
    }

    @Test
    void theReaderStopsAtTheInFlightLimit() throws Exception {
        MemoryExport export = memory("vol-1", false, 0);
        int limit = 4;
        start(new NbdServerSettings("127.0.0.1", 0, 64, limit, 32 << 20, Duration.ofSeconds(10)));
        CompletableFuture<Void> gate = new CompletableFuture<>();
        export.gate = gate;
        try (NbdTestClient client = closing(NbdTestClient.open(server.port(), "vol-1", true, false))) {
            for (int i = 0; i < 20; i++) {
                client.read(i, 512L * i, 512);
            }
            waitUntil("the limit to fill", () -> export.calls.get() == limit);
            Thread.sleep(200);
            assertEquals(limit, export.calls.get(), "no more requests dispatched while " + limit + " are open");
            gate.complete(null);
            for (int i = 0; i < 20; i++) {
                NbdTestClient.Reply reply = client.readReply();
                assertEquals(0, reply.error());
                int c = (int) reply.cookie();
                assertArrayEquals(Arrays.copyOfRange(export.bytes(), 512 * c, 512 * c + 512), reply.data());
            }
            assertEquals(20, export.calls.get());
        }
    }

    @Test
    void outOfRangeRequestsGetTheSpecsErrors() throws Exception {
        memory("vol-1", false, 0);
        start();
        try (NbdTestClient client = closing(NbdTestClient.open(server.port(), "vol-1", true, true))) {
            assertEquals(EINVAL, client.request(0, CMD_READ, SIZE, 1, null).error());
            assertEquals(EINVAL, client.request(0, CMD_READ, -4096, 4096, null).error(), "offset above 2^63");
            assertEquals(ENOSPC, client.request(0, CMD_WRITE, SIZE - 1, 2, new byte[2]).error());
            assertEquals(EINVAL, client.request(0, CMD_TRIM, SIZE - 1, 2, null).error());
            assertEquals(ENOSPC, client.request(0, CMD_WRITE_ZEROES, Long.MAX_VALUE, 2, null).error());
            assertEquals(EINVAL, client.request(0, CMD_BLOCK_STATUS, SIZE, 512, null).error());
            assertEquals(EINVAL, client.request(0, CMD_CACHE, 0, 512, null).error(), "unsupported command");
            assertEquals(EINVAL, client.request(1 << 9, CMD_READ, 0, 512, null).error(), "unknown flag");
            assertEquals(EINVAL, client.request(CMD_FLAG_FAST_ZERO, CMD_WRITE_ZEROES, 0, 512, null).error(),
                    "fast zero was not advertised");
            assertEquals(EINVAL, client.request(CMD_FLAG_NO_HOLE, CMD_WRITE, 0, 1, new byte[1]).error());
            assertEquals(0, client.request(0, CMD_READ, SIZE - 512, 512, null).error(), "the connection survives");
        }
    }

    @Test
    void readOnlyExportRefusesWritesWithEperm() throws Exception {
        MemoryExport export = memory("ro", true, 0);
        start();
        try (NbdTestClient client = closing(NbdTestClient.open(server.port(), "ro", false, false))) {
            assertEquals(FLAG_HAS_FLAGS | FLAG_READ_ONLY | FLAG_SEND_FLUSH | FLAG_SEND_FUA, client.transmissionFlags);
            assertEquals(EPERM, client.request(0, CMD_WRITE, 0, 512, new byte[512]).error());
            assertEquals(EPERM, client.request(0, CMD_TRIM, 0, 512, null).error());
            assertEquals(EPERM, client.request(0, CMD_WRITE_ZEROES, 0, 512, null).error());
            assertArrayEquals(Arrays.copyOfRange(export.bytes(), 0, 512),
                    client.request(0, CMD_READ, 0, 512, null).data());
        }
    }

    @Test
    void aFailingExportGetsEioAndTheConnectionSurvives() throws Exception {
        MemoryExport export = memory("vol-1", false, 1000);
        start();
        for (boolean structured : new boolean[] {false, true}) {
            try (NbdTestClient client = closing(NbdTestClient.open(server.port(), "vol-1", structured, false))) {
                export.failing = true;
                NbdTestClient.Reply failed = client.request(0, CMD_READ, 0, 4096, null);
                assertEquals(EIO, failed.error());
                assertNull(failed.data());
                assertEquals(EIO, client.request(0, CMD_WRITE, 0, 4, new byte[4]).error());
                assertEquals(EIO, client.request(0, CMD_FLUSH, 0, 0, null).error());
                export.failing = false;
                export.throwing = true;
                assertEquals(EIO, client.request(0, CMD_READ, 0, 4096, null).error(), "a synchronous throw too");
                export.throwing = false;
                assertEquals(0, client.request(0, CMD_READ, 0, 4096, null).error());
            }
        }
    }

    @Test
    void blockStatusReportsExtentsOfBaseAllocation() throws Exception {
        MemoryExport export = memory("vol-1", false, 0);
        start();
        try (NbdTestClient client = closing(NbdTestClient.open(server.port(), "vol-1", true, true))) {
            NbdTestClient.Reply whole = client.request(0, CMD_BLOCK_STATUS, 0, SIZE, null);
            assertArrayEquals(new long[] {SIZE}, whole.extentLengths(), "the default is one allocated extent");
            assertArrayEquals(new int[] {0}, whole.extentFlags());

            export.extents = List.of(new Extent(4096, false, false), new Extent(8192, true, true),
                    new Extent(4096, true, true), new Extent(1L << 40, false, true));
            NbdTestClient.Reply runs = client.request(0, CMD_BLOCK_STATUS, 4096, 65536, null);
            assertArrayEquals(new long[] {4096, 12288, SIZE - 4096 - 16384}, runs.extentLengths(),
                    "equal neighbours merge, nothing beyond the export");
            assertArrayEquals(new int[] {0, STATE_HOLE | STATE_ZERO, STATE_ZERO}, runs.extentFlags());
            NbdTestClient.Reply one = client.request(CMD_FLAG_REQ_ONE, CMD_BLOCK_STATUS, 4096, 1024, null);
            assertArrayEquals(new long[] {1024}, one.extentLengths(), "REQ_ONE: one extent, within the request");

            export.extents = List.of();
            assertEquals(EIO, client.request(0, CMD_BLOCK_STATUS, 0, 512, null).error(), "no extents is a bug");
        }
    }

    @Test
    void fuaFlushesBeforeTheReply() throws Exception {
        MemoryExport export = memory("vol-1", false, 0);
        start();
        try (NbdTestClient client = closing(NbdTestClient.open(server.port(), "vol-1", false, false))) {
            assertEquals(0, client.request(0, CMD_WRITE, 0, 4, new byte[4]).error());
            assertEquals(0, export.flushes.get());
            assertEquals(0, client.request(CMD_FLAG_FUA, CMD_WRITE, 0, 4, new byte[4]).error());
            assertEquals(1, export.flushes.get());
            assertEquals(0, client.request(CMD_FLAG_FUA, CMD_WRITE_ZEROES, 0, 4, null).error());
            assertEquals(0, client.request(CMD_FLAG_FUA, CMD_TRIM, 0, 4, null).error());
            assertEquals(3, export.flushes.get());
        }
    }

    @Test
    void disconnectAnswersOutstandingRequestsFirst() throws Exception {
        MemoryExport export = memory("vol-1", false, 0);
        start();
        CompletableFuture<Void> gate = new CompletableFuture<>();
        export.gate = gate;
        try (NbdTestClient client = closing(NbdTestClient.open(server.port(), "vol-1", false, false))) {
            client.read(1, 0, 4096);
            client.send(0, CMD_DISC, 2, 0, 0, null);
            Thread.sleep(100);
            gate.complete(null);
            NbdTestClient.Reply reply = client.readReply();
            assertEquals(1, reply.cookie());
            assertArrayEquals(Arrays.copyOfRange(export.bytes(), 0, 4096), reply.data());
            assertTrue(client.closedByServer());
        }
    }

    @Test
    void badRequestMagicDisconnects() throws Exception {
        memory("vol-1", false, 0);
        start();
        try (NbdTestClient client = closing(NbdTestClient.open(server.port(), "vol-1", false, false))) {
            client.out.write(new byte[REQUEST_HEADER_BYTES]);
            client.out.flush();
            assertTrue(client.closedByServer());
        }
    }

    @Test
    void closingTheServerEndsLiveConnections() throws Exception {
        MemoryExport export = memory("vol-1", false, 0);
        start();
        export.gate = new CompletableFuture<>();
        NbdTestClient busy = closing(NbdTestClient.open(server.port(), "vol-1", true, false));
        busy.read(1, 0, 512);
        NbdTestClient idle = closing(NbdTestClient.greet(server.port()));
        waitUntil("both connections", () -> server.connectionCount() == 2);
        int port = server.port();
        server.close();
        assertEquals(List.of(), liveThreads(port));
        assertTrue(busy.closedByServer());
        assertTrue(idle.closedByServer());
        assertNotEquals(0, port);
    }
}
