package io.ferry.blocks.precopy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.testkit.Ext4Images;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import io.ferry.transport.nbd.FileExport;
import io.ferry.transport.nbd.NbdExport;
import io.ferry.transport.nbd.NbdServer;
import io.ferry.transport.nbd.NbdServerSettings;
import io.ferry.transport.shaping.LinkProfile;
import io.ferry.transport.shaping.TcpLinkEmulator;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pre-copy with real clients: qemu-io writes through Ferry's NBD export at the source while the
 * volume is copied and while the passes run, over an emulated WAN link to the target's NBD export;
 * after the cut-over {@code qemu-img compare} finds the target equal to the image every
 * acknowledged write makes, and a client reads the last one back at the target.
 */
@ExtendWith(SeedExtension.class)
class PreCopyIT {

  private static final int BLOCK = 64 * 1024;
  private static final int BLOCKS = 64;
  private static final long SIZE = (long) BLOCK * BLOCKS;

  @TempDir Path dir;

  /** One write a client made; {@code acknowledged} when qemu-io reported it written. */
  private record Write(long offset, int length, int pattern) {
    String command() {
      return "write -P 0x" + Integer.toHexString(pattern) + " " + offset + " " + length;
    }

    String reply() {
      return "wrote " + length + "/" + length + " bytes at offset " + offset;
    }
  }

  @Test
  void writesAtTheSourceDuringThePassesAreAllAtTheTargetAfterTheCutOver(Seed seed) throws Exception {
    Random r = seed.random();
    // At most about a third of the link's 2 MB/s: one qemu-io process per write (64 KiB or less,
    // within and across blocks), at most ten a second.
    Result res = migrate(r, LinkProfile.wan(Duration.ofMillis(20), 16_000_000, 0.0, 1), 4, 10, 100,
        k -> List.of(randomWrite(r)));
    assertEquals(PreCopyMigration.Phase.CUT_OVER, res.status().phase(), res.status().toString());
    List<PreCopyConvergence.PassRecord> passes = res.status().passes();
    assertTrue(passes.size() >= 2, "the full copy and at least the final pass: " + passes);
    assertTrue(passes.get(passes.size() - 1).holdWrites() && passes.get(passes.size() - 1).changedBlocks() <= 4, passes.toString());
    assertTrue(res.acknowledged() >= 5, "writes during the passes: " + res.acknowledged());
  }

  @Test
  void writesFasterThanTheLinkSwitchToWriteBlockingAndConverge(Seed seed) throws Exception {
    Random r = seed.random();
    // 512 KB/s; each client run rewrites 8 of 16 hot blocks in turn (two runs cover all 16):
    // faster than the link carries them, so a pass never shrinks the change set.
    Result res = migrate(r, LinkProfile.wan(Duration.ofMillis(20), 4_000_000, 0.0, 1), 4, 2, 0, k -> {
      List<Write> ws = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        ws.add(new Write((long) (((k * 8 + i) % 16) + 16) * BLOCK, BLOCK, 1 + r.nextInt(254)));
      }
      return ws;
    });
    PreCopyMigration.Status st = res.status();
    assertEquals(PreCopyMigration.Phase.CUT_OVER, st.phase(), st.toString());
    assertEquals(PreCopyConvergence.Mode.WRITE_BLOCKING, st.mode(), st.toString());
    assertTrue(!st.modeReason().isEmpty() && st.writesMirrored() > 0, st.toString());
  }

  private record Result(PreCopyMigration.Status status, int acknowledged) {}

  /**
   * Migrates a half-filled image while {@code writes} (one qemu-io run each) go to the source's
   * export; asks for the cut-over once the copy is done and a few writes were acknowledged; checks
   * the target against the expected image with qemu-img compare after it.
   */
  private Result migrate(Random r, LinkProfile link, long threshold, int maxPasses, long pacingMillis, IntFunction<List<Write>> writes) throws Exception {
    byte[] expected = new byte[(int) SIZE];
    for (int b = 0; b < BLOCKS; b += 2) {
      byte[] block = new byte[BLOCK];
      r.nextBytes(block);
      System.arraycopy(block, 0, expected, b * BLOCK, BLOCK);
    }
    Path source = dir.resolve("source.img");
    Path target = dir.resolve("target.img");
    Files.write(source, expected);
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(target.toFile(), "rw")) {
      f.setLength(SIZE); // a new, sparse target: zero where nothing was copied
    }
    NbdServerSettings nbd = NbdServerSettings.defaults();
    try (PreCopySource export = new PreCopySource("vol", source, BLOCK, 4);
        NbdServer sourceServer = NbdServer.start(nbd, n -> n.equals("vol") ? Optional.<NbdExport>of(export) : Optional.empty(), () -> List.of("vol"));
        FileExport targetFile = FileExport.open("vol", target, false);
        NbdServer targetServer = NbdServer.start(nbd, n -> n.equals("vol") ? Optional.<NbdExport>of(targetFile) : Optional.empty(), () -> List.of("vol"));
        TcpLinkEmulator wan = TcpLinkEmulator.startShared("127.0.0.1", new InetSocketAddress("127.0.0.1", targetServer.port()), link);
        NbdBlockSink sink = new NbdBlockSink("127.0.0.1", wan.port(), "vol", 4, Duration.ofSeconds(30))) {
      PreCopyMigration m = PreCopyMigration.start(export, sink,
          new PreCopyMigration.Settings(new PreCopyConvergence.Settings(threshold, maxPasses), 4, 4, Duration.ofSeconds(30), true));
      String url = "nbd://127.0.0.1:" + sourceServer.port() + "/vol";
      int acknowledged = 0;
      boolean asked = false;
      AtomicBoolean refused = new AtomicBoolean();
      long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      Write last = null;
      for (int k = 0; !refused.get() && m.phase() != PreCopyMigration.Phase.FAILED; k++) {
        assertTrue(System.nanoTime() < deadline, "no cut-over within 120 s: " + m.status());
        List<Write> run = writes.apply(k);
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (Write w : run) {
          cmd.add("-c");
          cmd.add(w.command());
        }
        cmd.add(url);
        long started = System.nanoTime();
        String out = Ext4Images.exec(cmd, 120).output();
        long left = pacingMillis - (System.nanoTime() - started) / 1_000_000;
        if (left > 0) {
          Thread.sleep(left); // the workload's rate, not a wait for the migration
        }
        // qemu-io runs its commands in order: the acknowledged ones are a prefix.
        for (Write w : run) {
          if (!out.contains(w.reply())) {
            refused.set(true);
            break;
          }
          Arrays.fill(expected, (int) w.offset(), (int) w.offset() + w.length(), (byte) w.pattern());
          acknowledged++;
          last = w;
        }
        if (!asked && m.phase() == PreCopyMigration.Phase.COPIED && acknowledged >= 3) {
          m.requestCutOver();
          asked = true;
        }
      }
      assertTrue(m.awaitEnd(Duration.ofSeconds(60)), "no cut-over: " + m.status());
      PreCopyMigration.Status st = m.status();
      System.out.printf("pre-copy: %d writes acknowledged at the source, passes %s, mode %s %s, pause %.1f ms, %d bytes through the link%n",
          acknowledged, st.passes(), st.mode(), st.modeReason(), st.pauseNanos() / 1e6, wan.bytesForwarded());
      Path want = dir.resolve("expected.img");
      Files.write(want, expected);
      // The source holds exactly the acknowledged writes, and so does the target after the cut-over.
      Ext4Images.run(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", want.toString(), source.toString()));
      Ext4Images.run(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", want.toString(), target.toString()));
      // The workload goes on at the target: the last acknowledged write reads back there.
      if (last != null) {
        String read = Ext4Images.run(List.of("qemu-io", "-f", "raw", "-c",
            "read -P 0x" + Integer.toHexString(last.pattern()) + " " + last.offset() + " " + last.length(),
            "nbd://127.0.0.1:" + targetServer.port() + "/vol"));
        assertTrue(read.contains("read " + last.length() + "/" + last.length()), read);
      }
      m.close();
      return new Result(st, acknowledged);
    }
  }

  private static Write randomWrite(Random r) {
    int length = r.nextBoolean() ? BLOCK : 512 * (1 + r.nextInt(300));
    long offset = r.nextBoolean() ? (long) r.nextInt(BLOCKS) * BLOCK : 512L * r.nextInt((int) ((SIZE - length) / 512));
    offset = Math.min(offset, SIZE - length);
    return new Write(offset, length, 1 + r.nextInt(254));
  }
}
