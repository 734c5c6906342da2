package io.ferry.transport.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server against real NBD clients (qemu-img, qemu-io, nbdinfo, nbdcopy, nbdsh when present),
 * serving a real ext4 image built with mkfs.ext4 from files this test writes.
 */
@ExtendWith(SeedExtension.class)
class NbdServerIT {

    /** The class's seed; SeedExtension prints it with its replay option when a test fails. */
    private static long seed;
    private static final long IMAGE_BYTES = 64L << 20;
    private static final long PROCESS_TIMEOUT_SECONDS = 120;

    @TempDir
    static Path dir;

    private static Path image;
    private static final Map<String, NbdExport> exports = new LinkedHashMap<>();
    private static final List<AutoCloseable> closeables = new ArrayList<>();
    private static NbdServer server;

    @BeforeAll
    static void setUp(Seed classSeed) throws Exception {
        seed = classSeed.value();
        for (String tool : List.of("/usr/bin/qemu-img", "/usr/bin/qemu-io", "/usr/bin/nbdinfo", "/usr/bin/nbdcopy")) {
            assertTrue(Files.isExecutable(Path.of(tool)), tool + " is needed by this test (qemu-utils, libnbd-bin)");
        }
        Path content = Files.createDirectories(dir.resolve("content"));
        Random random = new Random(seed);
        long written = 0;
        for (int i = 0; written < 24L << 20; i++) {
            byte[] data = new byte[1 + random.nextInt(3 << 20)];
            random.nextBytes(data);
            Files.write(content.resolve("file-" + i + ".bin"), data);
            written += data.length;
        }
        Files.writeString(content.resolve("README.txt"), "ferry nbd test, seed " + seed + "\n");
        image = dir.resolve("source.img");
        run(List.of("mkfs.ext4", "-q", "-d", content.toString(), image.toString(), "64M"));
        assertEquals(IMAGE_BYTES, Files.size(image));

        FileExport ext4 = FileExport.open("ext4", image, true);
        closeables.add(ext4);
        exports.put("ext4", ext4);
        exports.put("slow", new DelayedExport("slow", ext4, seed, 5));
        for (String name : List.of("rw-qemu", "rw-copy")) {
            Path file = dir.resolve(name + ".img");
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                raf.setLength(IMAGE_BYTES);
            }
            FileExport export = FileExport.open(name, file, false);
            closeables.add(export);
            exports.put(name, export);
        }
        server = NbdServer.start(NbdServerSettings.defaults(), name -> Optional.ofNullable(exports.get(name)),
                () -> List.copyOf(exports.keySet()));
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (server != null) {
            server.close();
        }
        for (AutoCloseable closeable : closeables) {
            closeable.close();
        }
    }

    private static String uri(String export) {
        return "nbd://127.0.0.1:" + server.port() + "/" + export;
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output;
        try (var in = process.getInputStream()) {
            output = in.readAllBytes();
        }
        if (!process.waitFor(PROCESS_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(command + " did not finish in " + PROCESS_TIMEOUT_SECONDS + " s");
        }
        String text = new String(output, StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), command + " failed, seed=" + seed + ":\n" + text);
        return text;
    }

    @Test
    void qemuImgFindsTheExportIdenticalToTheImage() throws Exception {
        for (String export : List.of("ext4", "slow")) {
            String output = run(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", image.toString(), uri(export)));
            assertTrue(output.contains("Images are identical"), output);
        }
    }

    @Test
    void nbdcopyOutOfTheExportGivesTheSameBytes() throws Exception {
        byte[] expected = Files.readAllBytes(image);
        for (String export : List.of("ext4", "slow")) {
            Path copy = dir.resolve("copy-" + export + ".img");
            run(List.of("nbdcopy", uri(export), copy.toString()));
            assertTrue(Arrays.equals(expected, Files.readAllBytes(copy)), export + " copy differs, seed=" + seed);
        }
    }

    @Test
    void nbdinfoDescribesListsAndMapsTheExports() throws Exception {
        String info = run(List.of("nbdinfo", uri("ext4")));
        assertTrue(info.contains("ext4") && info.contains(Long.toString(IMAGE_BYTES)), info);
        assertTrue(info.contains("is_read_only: true"), info);

        String list = run(List.of("nbdinfo", "--list", "nbd://127.0.0.1:" + server.port()));
        for (String name : exports.keySet()) {
            assertTrue(list.contains("export=\"" + name + "\""), list);
        }

        String map = run(List.of("nbdinfo", "--map", uri("ext4")));
        long covered = 0;
        boolean data = false;
        boolean zero = false;
        for (String line : map.strip().split("\n")) {
            String[] fields = line.strip().split("\\s+");
            assertEquals(fields[0], Long.toString(covered), "extents are consecutive:\n" + map);
            covered += Long.parseLong(fields[1]);
            data |= line.contains("data");
            zero |= line.contains("zero");
        }
        assertEquals(IMAGE_BYTES, covered, map);
        assertTrue(data && zero, "an ext4 image half empty has data and zero runs:\n" + map);
    }

    @Test
    void qemuIoWritesReadBack() throws Exception {
        String output = run(List.of("qemu-io", "-f", "raw", "-c", "write -P 0xab 4096 65536", uri("rw-qemu")));
        assertTrue(output.contains("wrote 65536/65536 bytes"), output);
        String check = run(List.of("qemu-io", "-f", "raw", "-c", "read -P 0xab 4096 65536", uri("rw-qemu")));
        assertTrue(check.contains("read 65536/65536 bytes") && !check.contains("verification failed"), check);
        byte[] file = Files.readAllBytes(dir.resolve("rw-qemu.img"));
        byte[] expected = new byte[65536];
        Arrays.fill(expected, (byte) 0xab);
        assertArrayEquals(expected, Arrays.copyOfRange(file, 4096, 4096 + 65536));
        assertArrayEquals(new byte[4096], Arrays.copyOfRange(file, 0, 4096));
    }

    @Test
    void nbdcopyIntoAWritableExport() throws Exception {
        run(List.of("nbdcopy", image.toString(), uri("rw-copy")));
        assertTrue(Arrays.equals(Files.readAllBytes(image), Files.readAllBytes(dir.resolve("rw-copy.img"))),
                "copy into the export differs, seed=" + seed);
        String output = run(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", image.toString(), uri("rw-copy")));
        assertTrue(output.contains("Images are identical"), output);
    }

    @Test
    void nbdshReadsTheExportWhenInstalled() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/nbdsh")), "nbdsh is not installed");
        // nbdsh is "python3 -m nbd"; run it with Debian's interpreter, since the python3 first on
        // the PATH (pyenv, a venv) may lack Debian's nbd module.
        String python = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
        String output = run(List.of(python, "-m", "nbd", "-u", uri("ext4"), "-c",
                "print(h.get_size()); print(h.can_multi_conn()); print(len(h.pread(65536, 0)))"));
        assertTrue(output.contains(Long.toString(IMAGE_BYTES)) && output.contains("65536"), output);
    }
}
