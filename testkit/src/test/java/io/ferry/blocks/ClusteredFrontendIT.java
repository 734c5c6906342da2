package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Ferry;
import io.ferry.api.VolumePhase;
import io.ferry.api.VolumeStatus;
import io.ferry.runtime.FerryNode;
import io.ferry.runtime.LocalCluster;
import io.ferry.testkit.Ext4Images;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A clustered volume through the real shells (registry, agents, frontend, mirror) with two members
 * at the target site: the mirror is placed on the other member and filled, qemu-io's writes are
 * held by both before they are acknowledged, and when the frontend's member leaves, the mirror's
 * member serves the volume at the URL the status gives, with every acknowledged write. Under
 * write-back, the source's confirmations reached the mirror, so the promoted frontend ships none of
 * the blocks shipped before. With no mirror left a write is not acknowledged by one copy: it fails
 * after the hold limit; once a new member joins and is the mirror, writes are held by both again.
 * (kill -9 of
 * either member, with fresh data directories: {@code ClusteredFrontendProcessIT}, behind
 * {@code -DvolumeProcesses=true}.)
 */
@ExtendWith(SeedExtension.class)
class ClusteredFrontendIT {

  private static final int BLOCK = 64 * 1024;
  private static final int SIZE = 4 << 20;

  @TempDir Path dir;

  @Test
  void theMirrorHoldsEveryWriteAndServesTheVolumeWhenTheFrontendsMemberLeaves(Seed seed) throws Exception {
    Random r = seed.random();
    byte[] expected = new byte[SIZE];
    r.nextBytes(expected);
    Arrays.fill(expected, 10 * BLOCK, 20 * BLOCK, (byte) 0);
    Path src = dir.resolve("vol-m.img");
    Files.write(src, expected);
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("edge-a", "edge"); // the source, and the registry (the seed)
    sites.put("cloud", "cloud");
    // Write-back ships within a second; a write with no mirror fails after 3 s (30 s by default).
    com.typesafe.config.Config settings = ConfigFactory.parseString("ferry.blocks.changes.rpo = 1s\nferry.blocks.mirror.hold-limit = 3s");
    try (LocalCluster c = LocalCluster.start(dir.resolve("data"), sites, settings, Duration.ofSeconds(60))) {
      c.startMember("cloud", "cloud");
      c.awaitAllUp(Duration.ofSeconds(60));
      Ferry ferry = c.member("edge-a").ferry();
      VolumeSpec spec = new VolumeSpec(new VolumeId("vol-m"), io.ferry.placement.Site.of("edge-a"), src.toString(), io.ferry.placement.Site.of("cloud"), BLOCK, "", WritePolicy.WRITE_BACK)
          .withFrontends(2);
      ferry.startVolume(spec).toCompletableFuture().get(20, TimeUnit.SECONDS);
      VolumeStatus st = await(ferry, 120, "COPIED with the mirror in sync", s -> s.phase() == VolumePhase.COPIED && s.mirror().map(m -> m.state().equals("in-sync")).orElse(false));
      VolumeStatus.Mirror mirror = st.mirror().orElseThrow();
      assertNotEquals(st.frontendMember(), mirror.member(), "the mirror runs on the other member of the target site");

      int written = 0;
      List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
      for (int i = 0; i < 12; i++) {
        int length = r.nextBoolean() ? BLOCK : 512 * (1 + r.nextInt(200));
        int offset = Math.min(SIZE - length, 512 * r.nextInt(SIZE / 512));
        int pattern = 1 + r.nextInt(254);
        cmd.add("-c");
        cmd.add("write -P 0x" + Integer.toHexString(pattern) + " " + offset + " " + length);
        Arrays.fill(expected, offset, offset + length, (byte) pattern);
        written += (offset + length - 1) / BLOCK - offset / BLOCK + 1;
      }
      cmd.add(st.nbdUrl());
      String out = Ext4Images.run(cmd);
      assertEquals(12, out.split("wrote ", -1).length - 1, out);
      VolumeStatus.Mirror after = ferry.volumeStatus(spec.volume()).toCompletableFuture().get(20, TimeUnit.SECONDS).mirror().orElseThrow();
      assertEquals(written, after.mirroredWrites(), "every block written was held by the mirror before the write was acknowledged");
      VolumeStatus shipped = await(ferry, 60, "with every write shipped to the source",
          s -> s.changes().map(ch -> ch.pendingBlocks() == 0 && ch.shippedBlocks() > 0).orElse(false));
      System.out.printf("ClusteredFrontendIT: write-back shipped %d blocks in %d shipments before the frontend's member left%n",
          shipped.changes().orElseThrow().shippedBlocks(), shipped.changes().orElseThrow().shipments());

      String oldUrl = st.nbdUrl();
      long left = System.nanoTime();
      FerryNode primary = c.memberAt(st.frontendMember());
      primary.close();
      VolumeStatus promoted = await(ferry, 120, "served by the mirror's member",
          s -> s.frontendMember().equals(mirror.member()) && s.phase() == VolumePhase.COPIED && !s.nbdUrl().isEmpty() && !s.nbdUrl().equals(oldUrl));
      System.out.printf("ClusteredFrontendIT: the frontend's member left; the mirror's member served the volume %.1f s later at %s%n",
          (System.nanoTime() - left) / 1e9, promoted.nbdUrl());
      Path file = dir.resolve("expected.img");
      Files.write(file, expected);
      String compare = Ext4Images.run(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", file.toString(), promoted.nbdUrl()));
      assertTrue(compare.contains("Images are identical"), "the promoted mirror: " + compare);
      assertEquals(0, promoted.frontend().orElseThrow().framesBackground() + promoted.frontend().orElseThrow().framesOnDemand(),
          "the promoted frontend fetched nothing from the source: the mirror held every block");
      assertEquals(0, promoted.changes().orElseThrow().pendingBlocks(), "the source's confirmations reached the mirror: nothing is owed again");
      assertEquals("none", promoted.mirror().orElseThrow().state(), "no third member at the target site yet");

      // No mirror: a write waits the hold limit for one, then fails rather than live on one copy.
      int lonely = 40 * BLOCK;
      Ext4Images.Result failed = Ext4Images.exec(List.of("qemu-io", "-f", "raw", "-c", "write -P 0x5a " + lonely + " " + BLOCK, promoted.nbdUrl()), 120);
      assertTrue(failed.output().contains("Input/output error"), "a write with no mirror is not acknowledged: " + failed.output());
      Arrays.fill(expected, lonely, lonely + BLOCK, (byte) 0x5a); // at the primary all the same (its outcome is unknown to the client)
      assertEquals(1, ferry.volumeStatus(spec.volume()).toCompletableFuture().get(20, TimeUnit.SECONDS).mirror().orElseThrow().failedWrites());

      // A new member at the target site becomes the mirror; writes are held by both again.
      c.startMember("cloud", "cloud");
      await(ferry, 120, "with a new mirror in sync", s -> s.mirror().map(m -> m.state().equals("in-sync")).orElse(false));
      int next = 41 * BLOCK;
      Ext4Images.run(List.of("qemu-io", "-f", "raw", "-c", "write -P 0x6b " + next + " " + BLOCK, promoted.nbdUrl()));
      Arrays.fill(expected, next, next + BLOCK, (byte) 0x6b);
      VolumeStatus last = await(ferry, 60, "with the last writes shipped",
          s -> s.changes().map(ch -> ch.pendingBlocks() == 0).orElse(false) && s.mirror().map(m -> m.mirroredWrites() == 1).orElse(false));
      assertEquals(2, last.changes().orElseThrow().shippedBlocks(),
          "the promoted frontend shipped the two blocks written after the promotion, none of the " + written + " confirmed before it");
      Files.write(file, expected);
      String compareAfter = Ext4Images.run(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", file.toString(), last.nbdUrl()));
      assertTrue(compareAfter.contains("Images are identical"), "after the writes at the promoted frontend: " + compareAfter);
    }
  }

  private static VolumeStatus await(Ferry ferry, int seconds, String what, Predicate<VolumeStatus> done) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    VolumeStatus st = null;
    while (true) {
      try {
        st = ferry.volumeStatus(new VolumeId("vol-m")).toCompletableFuture().get(20, TimeUnit.SECONDS);
      } catch (Exception e) {
        st = null; // a member just left: ask again
      }
      if (st != null && done.test(st)) {
        return st;
      }
      assertTrue(System.nanoTime() < deadline, "vol-m not " + what + " within " + seconds + " s: " + st);
      TimeUnit.MILLISECONDS.sleep(100);
    }
  }
}
