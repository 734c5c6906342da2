package io.ferry.transport.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import io.ferry.transport.shaping.LinkProfile;
import io.ferry.transport.shaping.TcpLinkEmulator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(SeedExtension.class)
class NbdClientIT {

    /** The class's seed; SeedExtension prints it with its replay option when a test fails. */
    private static long seed;

    @BeforeAll
    static void drawSeed(Seed classSeed) {
        seed = classSeed.value();
    }

    private static final int SIZE = 1 << 20;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private Path file;
    private byte[] original;
    private FileExport export;
    private NbdServer server;

    @BeforeEach
    void setUp() throws IOException {
        original = new byte[SIZE];
        new Random(seed).nextBytes(original);
        file = dir.resolve("disk.img");
        Files.write(file, original);
        export = FileExport.open("disk", file, false);
        server = NbdServer.start(NbdServerSettings.defaults(),
                name -> name.equals("disk") ? Optional.of(export) : Optional.empty(), () -> List.of("disk"));
    }

    @AfterEach
    void tearDown() throws IOException {
        int port = server.port();
        server.close();
        export.close();
        List<String> left = Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                .map(Thread::getName).filter(n -> n.startsWith("ferry-nbd-" + port + "-")).toList();
        assertEquals(List.of(), left, "server threads left after close");
    }

    @Test
    void readsWritesAndFlushesThroughARealServer() throws Exception {
        Random random = new Random(seed + 1);
        byte[] data = new byte[100_000];
        random.nextBytes(data);
        long offset = 12_345;
        try (NbdClient client = NbdClient.connect("127.0.0.1", server.port(), "disk", TIMEOUT)) {
            assertEquals(SIZE, client.sizeBytes());
            assertArrayEquals(Arrays.copyOfRange(original, 0, 4096), client.read(0, 4096), "seed=" + seed);
            assertArrayEquals(Arrays.copyOfRange(original, SIZE - 7, SIZE), client.read(SIZE - 7, 7), "seed=" + seed);
            assertArrayEquals(original, client.read(0, SIZE), "whole export, seed=" + seed);

            client.write(offset, data);
            assertArrayEquals(data, client.read(offset, data.length), "read back after write, seed=" + seed);
            client.flush();
        }
        byte[] expected = original.clone();
        System.arraycopy(data, 0, expected, (int) offset, data.length);
        assertArrayEquals(expected, Files.readAllBytes(file), "file after flush, seed=" + seed);
        awaitNoConnections();
    }

    /** The benchmark's baseline path: each request and its reply cross the emulated link. */
    @Test
    void worksThroughTheTcpLinkEmulator() throws Exception {
        Duration delay = Duration.ofMillis(20);
        try (TcpLinkEmulator link = TcpLinkEmulator.start("127.0.0.1", server.address(),
                new LinkProfile(delay, 100_000_000, 0.0, 0, seed));
             NbdClient client = NbdClient.connect("127.0.0.1", link.port(), "disk", TIMEOUT)) {
            long start = System.nanoTime();
            assertArrayEquals(Arrays.copyOfRange(original, 4096, 8192), client.read(4096, 4096), "seed=" + seed);
            long elapsedMs = Duration.ofNanos(System.nanoTime() - start).toMillis();
            assertTrue(elapsedMs >= 2 * delay.toMillis(), "read took " + elapsedMs + " ms");
            assertEquals(SIZE, client.sizeBytes());
        }
        awaitNoConnections();
    }

    @Test
    void unknownExportIsAClearError() {
        IOException e = assertThrows(IOException.class,
                () -> NbdClient.connect("127.0.0.1", server.port(), "nope", TIMEOUT));
        assertTrue(e.getMessage().contains("'nope'") && e.getMessage().contains("NBD_REP_ERR_UNKNOWN"),
                e.getMessage());
    }

    @Test
    void errorRepliesNameTheErrorAndLeaveTheConnectionUsable() throws Exception {
        try (NbdClient client = NbdClient.connect("127.0.0.1", server.port(), "disk", TIMEOUT)) {
            IOException read = assertThrows(IOException.class, () -> client.read(SIZE - 10, 4096));
            assertTrue(read.getMessage().contains("EINVAL") && read.getMessage().contains("offset=" + (SIZE - 10)),
                    read.getMessage());
            IOException write = assertThrows(IOException.class, () -> client.write(SIZE, new byte[1]));
            assertTrue(write.getMessage().contains("ENOSPC"), write.getMessage());
            assertArrayEquals(Arrays.copyOfRange(original, 0, 10), client.read(0, 10), "seed=" + seed);
        }
    }

    @Test
    void refusesRequestsPastItsLimitsBeforeSending() throws Exception {
        try (NbdClient client = NbdClient.connect("127.0.0.1", server.port(), "disk", TIMEOUT)) {
            assertThrows(IllegalArgumentException.class, () -> client.read(0, NbdClient.REQUEST_BYTES_MAX + 1));
            assertThrows(IllegalArgumentException.class, () -> client.read(-1, 1));
            assertArrayEquals(Arrays.copyOfRange(original, 0, 10), client.read(0, 10), "seed=" + seed);
        }
    }

    @Test
    void closedClientRefusesRequests() throws Exception {
        NbdClient client = NbdClient.connect("127.0.0.1", server.port(), "disk", TIMEOUT);
        client.close();
        client.close();
        assertThrows(IOException.class, () -> client.read(0, 1));
        awaitNoConnections();
    }

    /** NBD_CMD_DISC makes the server end the connection. */
    private void awaitNoConnections() throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (server.connectionCount() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, server.connectionCount(), "server connections after the client closed");
    }
}
