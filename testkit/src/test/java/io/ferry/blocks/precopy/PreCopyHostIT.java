package io.ferry.blocks.precopy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import io.ferry.transport.nbd.FileExport;
import io.ferry.transport.nbd.NbdExport;
import io.ferry.transport.nbd.NbdServer;
import io.ferry.transport.nbd.NbdServerSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PreCopyHost}, what a source member's backend runs, against a real NBD sink: a restarted
 * source ships what its change log holds (everything if the log is damaged), and passes into a sink that cannot be reached leaving the source the
 * primary with its change set whole, then a retry that cuts over.
 */
@ExtendWith(SeedExtension.class)
class PreCopyHostIT {

  private static final int BLOCK = 4096;
  private static final int BLOCKS = 64;

  @TempDir Path dir;

  private static final PreCopyHost.Settings SETTINGS = new PreCopyHost.Settings(2, 10, 2, 2, 4, Duration.ofSeconds(30), Duration.ofSeconds(60), 0);

  private static PreCopyHost.Outcome cutOver(PreCopyHost host, int port, String export) throws Exception {
    CompletableFuture<PreCopyHost.Outcome> done = new CompletableFuture<>();
    assertTrue(host.cutOver("127.0.0.1", port, export, done::complete));
    PreCopyHost.Outcome o = done.get(60, TimeUnit.SECONDS);
    assertTrue(host.converging(), "passes count as running until their outcome is taken");
    assertFalse(host.cutOver("127.0.0.1", port, export, x -> {}), "a request before the outcome is taken is a repeat");
    host.endHandled(); // taken, as BlockBackend does when it handles the outcome
    return o;
  }

  /**
   * A source member that restarts reads its change set from the change log next to the image and
   * the cut-over ships only those blocks; with the log damaged it recopies every block and says why.
   */
  @Test
  void aRestartedSourceShipsOnlyWhatItsChangeLogHoldsThenRefusesWrites(Seed seed) throws Exception {
    for (boolean damaged : new boolean[] {false, true}) {
      Random r = seed.random();
      byte[] bytes = new byte[BLOCK * BLOCKS];
      r.nextBytes(bytes);
      Path source = dir.resolve("source-" + damaged + ".img");
      Files.write(source, bytes);
      Path target = dir.resolve("target-" + damaged + ".img");
      Files.write(target, bytes); // the background copy filled it before the source's member crashed
      try (PreCopyHost first = PreCopyHost.open("vol", source, BLOCK, SETTINGS, false)) {
        assertTrue(first.changeLogRecovery().readable());
        for (int b : new int[] {3, 4, 40}) {
          first.source().write((long) b * BLOCK + 100, new byte[] {7, 7, 7}).toCompletableFuture().get();
        }
        assertEquals(3, first.source().changeLog().orElseThrow().loggedBlocks());
      } // a kill -9 leaves the log as close does: every mark was forced before its write
      Path log = PreCopyHost.changeLogPath(source);
      if (damaged) {
        byte[] l = Files.readAllBytes(log);
        l[5] ^= 1; // in the header
        Files.write(log, l);
      }
      try (PreCopyHost host = PreCopyHost.open("vol", source, BLOCK, SETTINGS, true);
          FileExport sinkFile = FileExport.open("sink", target, false);
          NbdServer server = NbdServer.start(NbdServerSettings.defaults(), n -> n.equals("sink") ? Optional.<NbdExport>of(sinkFile) : Optional.empty(), () -> List.of("sink"))) {
        DirtyBlockLog.Recovery rec = host.changeLogRecovery();
        assertEquals(!damaged, rec.readable(), rec.toString());
        long expected = damaged ? BLOCKS : 3;
        assertEquals(expected, host.source().dirty().count(), rec.toString());
        host.source().write(3L * BLOCK, new byte[] {9}).toCompletableFuture().get();
        PreCopyHost.Outcome o = cutOver(host, server.port(), "sink");
        assertTrue(o.cutOver(), o.toString());
        assertEquals(expected, o.status().passes().get(1).changedBlocks(), o.toString());
        assertFalse(host.converging());
        sinkFile.flush().toCompletableFuture().get();
        assertArrayEquals(Files.readAllBytes(source), Files.readAllBytes(target), "the target after the cut-over vs the source");
        assertThrows(ExecutionException.class, () -> host.source().write(0, new byte[1]).toCompletableFuture().get(), "the source refuses after the cut-over");
        assertEquals(o.status(), host.status(), "the status keeps the last passes' figures");
      }
    }
  }

  @Test
  void passesIntoAnUnreachableSinkLeaveTheSourcePrimaryAndARetryCutsOver(Seed seed) throws Exception {
    Random r = seed.random();
    byte[] bytes = new byte[BLOCK * BLOCKS];
    r.nextBytes(bytes);
    Path source = dir.resolve("source.img");
    Files.write(source, bytes);
    Path target = dir.resolve("target.img");
    Files.write(target, bytes); // the background copy filled it
    try (PreCopyHost host = PreCopyHost.open("vol", source, BLOCK, SETTINGS, false);
        FileExport sinkFile = FileExport.open("sink", target, false);
        NbdServer server = NbdServer.start(NbdServerSettings.defaults(), n -> n.equals("sink") ? Optional.<NbdExport>of(sinkFile) : Optional.empty(), () -> List.of("sink"))) {
      host.source().write(5L * BLOCK + 10, new byte[] {1, 2}).toCompletableFuture().get();
      host.source().write(9L * BLOCK, new byte[BLOCK]).toCompletableFuture().get();
      PreCopyHost.Outcome failed = cutOver(host, server.port(), "no-such-sink");
      assertFalse(failed.cutOver());
      assertTrue(failed.status().error().contains("no-such-sink"), failed.status().error());
      assertEquals(2, host.source().dirty().count(), "the change set is whole");
      host.source().write(11L * BLOCK, new byte[] {3}).toCompletableFuture().get(); // the source is still the primary
      PreCopyHost.Outcome o = cutOver(host, server.port(), "sink");
      assertTrue(o.cutOver(), o.toString());
      assertEquals(3, o.status().passes().get(1).changedBlocks(), o.toString());
      sinkFile.flush().toCompletableFuture().get();
      assertArrayEquals(Files.readAllBytes(source), Files.readAllBytes(target));
    }
  }
}
