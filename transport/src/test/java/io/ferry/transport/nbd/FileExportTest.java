package io.ferry.transport.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileExportTest {

    private static final int G = FileExport.ZERO_SCAN_GRANULE_BYTES;

    @TempDir
    Path dir;

    @Test
    void blockStatusFindsZeroRunsAtGranuleResolution() throws Exception {
        byte[] content = new byte[8 * G + 100];
        content[10] = 1;                 // granule 0: data
        content[3 * G + 5] = 1;          // granules 1-2: zero, granule 3: data
        content[8 * G + 50] = 1;         // granules 4-7: zero, short tail: data
        Path file = dir.resolve("disk.img");
        Files.write(file, content);
        try (FileExport export = FileExport.open("vol-1", file, false)) {
            List<Extent> extents = export.blockStatus(0, content.length).toCompletableFuture().get();
            assertEquals(List.of(new Extent(G, false, false), new Extent(2L * G, false, true),
                    new Extent(G, false, false), new Extent(4L * G, false, true), new Extent(100, false, false)),
                    extents);
            List<Extent> unaligned = export.blockStatus(G + 7, 10).toCompletableFuture().get();
            assertEquals(List.of(new Extent(G - 7, false, true)), unaligned, "scans to the granule's end");
        }
    }

    @Test
    void writeZeroesAndReadOnlyRefusal() throws Exception {
        byte[] content = new byte[3 << 20];
        java.util.Arrays.fill(content, (byte) 7);
        Path file = dir.resolve("disk.img");
        Files.write(file, content);
        try (FileExport export = FileExport.open("vol-1", file, false)) {
            export.writeZeroes(100, (2 << 20) + 10).toCompletableFuture().get();
            export.flush().toCompletableFuture().get();
            byte[] back = export.read(0, content.length).toCompletableFuture().get();
            java.util.Arrays.fill(content, 100, 100 + (2 << 20) + 10, (byte) 0);
            assertArrayEquals(content, back);
        }
        try (FileExport readOnly = FileExport.open("ro", file, true)) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> readOnly.write(0, new byte[1]).toCompletableFuture().get());
            assertEquals(java.io.UncheckedIOException.class, e.getCause().getClass());
        }
    }
}
