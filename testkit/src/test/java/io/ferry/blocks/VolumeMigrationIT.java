package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Ferry;
import io.ferry.api.VolumePhase;
import io.ferry.api.VolumeStatus;
import io.ferry.runtime.LocalCluster;
import io.ferry.testkit.Ext4Images;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Volume migration between separate ActorSystems (a source edge site, a cloud target, a bystander
 * edge site that holds the registry), with real NBD clients reading the target's export while the
 * background copy still runs, writes through NBD, dedup across two images of one template, and the
 * frontend's and the backend's member crashing mid-copy.
 */
class VolumeMigrationIT {

  @TempDir Path dir;

  /**
   * The background copy held off: blocks move only when a client reads them, so whatever a test does
   * before it lets the copy run (a crash, a change of the source) lands mid-copy however slow the machine.
   */
  private static final Config BACKGROUND_HELD = ConfigFactory.parseString("ferry.blocks.background.enabled = off");

  /** Slow enough that the copy is still running while the clients read; 2 ms each way. */
  private static Config shaped(String bandwidth) {
    return ConfigFactory.parseString(
        "ferry.blocks.emulate { one-way-delay = 2ms, bandwidth = \"" + bandwidth + "\" }\n"
            + "ferry.blocks.link { rtt = 4ms, bandwidth = \"" + bandwidth + "\" }\n"
            + "ferry.blocks.background.stall-timeout = 3s\n");
  }

  private LocalCluster cluster(Config overrides) {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("edge-b", "edge"); // the seed: oldest member, so it hosts the registries and never crashes here
    sites.put("edge-a", "edge");
    sites.put("cloud", "cloud");
    return LocalCluster.start(dir.resolve("data"), sites, overrides, Duration.ofSeconds(60));
  }

  private Path image(String name, long seed, boolean changed) throws Exception {
    Path tree = dir.resolve("tree-" + name);
    Ext4Images.template(tree, seed, 24L << 20);
    if (changed) {
      Ext4Images.changeAFew(tree, seed + 1);
    }
    return Ext4Images.ext4(tree, dir.resolve(name + ".img"), 64);
  }

  private static VolumeStatus status(Ferry ferry, String volume) throws Exception {
    return ferry.volumeStatus(new VolumeId(volume)).toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static VolumeStatus awaitExported(Ferry ferry, String volume) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      VolumeStatus st;
      try {
        st = status(ferry, volume);
      } catch (Exception e) {
        st = null; // a member just crashed: ask again
      }
      if (st != null && st.frontend().isPresent() && !st.nbdUrl().isEmpty()) {
        return st;
      }
      assertTrue(System.nanoTime() < deadline, "volume " + volume + " was not exported within 60 s: " + st);
      TimeUnit.MILLISECONDS.sleep(20);
    }
  }

  private static VolumeStatus awaitCopied(Ferry ferry, String volume, int seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (true) {
      VolumeStatus st;
      try {
        st = status(ferry, volume);
      } catch (Exception e) {
        st = null; // a member just crashed: ask again
      }
      if (st != null && st.copied()) {
        return st;
      }
      assertTrue(System.nanoTime() < deadline, "volume " + volume + " not copied within " + seconds + " s: " + st);
      TimeUnit.MILLISECONDS.sleep(200);
    }
  }

  private static VolumeSpec spec(String volume, Path image) {
    return new VolumeSpec(new VolumeId(volume), "edge-a", image.toString(), "cloud", 64 * 1024, "");
  }

  @Test
  void realNbdClientsReadTheVolumeWhileItCopiesAndWritesReadBack() throws Exception {
    Path src = image("vol-1", 11, false);
    Path second = image("vol-2", 11, true);
    try (LocalCluster c = cluster(shaped("40 Mbit"))) {
      Ferry ferry = c.any().ferry();
      ferry.startVolume(spec("vol-1", src)).toCompletableFuture().get(20, TimeUnit.SECONDS);
      VolumeStatus st = awaitExported(ferry, "vol-1");
      String url = st.nbdUrl();
      assertFalse(st.copied(), "the background copy must still be running while the clients read");

      String info = Ext4Images.run(List.of("nbdinfo", url));
      assertTrue(info.contains(String.valueOf(Files.size(src))), "nbdinfo shows the export's size:\n" + info);
      String list = Ext4Images.run(List.of("nbdinfo", "--list", url.substring(0, url.lastIndexOf('/'))));
      assertTrue(list.contains("vol-1"), "nbdinfo --list shows the export:\n" + list);

      String compare = Ext4Images.run(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", src.toString(), url));
      assertTrue(compare.contains("Images are identical"), compare);
      Path out = dir.resolve("copy.img");
      Ext4Images.run(List.of("nbdcopy", url, out.toString()));
      assertEquals(-1, Files.mismatch(src, out), "nbdcopy out of the export gives a byte-identical image");

      // A write through NBD reads back (target-only: the source is not changed).
      Ext4Images.run(List.of("qemu-io", "-f", "raw", "-c", "write -P 0xab 4096 65536", url));
      String readBack = Ext4Images.run(List.of("qemu-io", "-f", "raw", "-c", "read -P 0xab 4096 65536", url));
      assertFalse(readBack.contains("Pattern verification failed"), readBack);

      VolumeStatus done = awaitCopied(ferry, "vol-1", 120);
      String after = Ext4Images.run(List.of("qemu-io", "-f", "raw", "-c", "read -P 0xab 4096 65536", url));
      assertFalse(after.contains("Pattern verification failed"), "a late block from the source never overwrites a write:\n" + after);

      // The management endpoint shows the same, and refuses a malformed request naming the field.
      String http = c.any().httpUrl().orElseThrow();
      var client = java.net.http.HttpClient.newHttpClient();
      var status = client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(http + "/volumes/vol-1")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(200, status.statusCode(), status.body());
      assertTrue(status.body().contains("\"phase\":\"COPIED\"") && status.body().contains(url), status.body());
      var bad = client.send(
          java.net.http.HttpRequest.newBuilder(java.net.URI.create(http + "/volumes")).POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"volume\": \"v\", \"sourceSite\": \"edge-a\"}")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(400, bad.statusCode(), bad.body());
      assertTrue(bad.body().contains("sourcePath"), "the error names the missing field: " + bad.body());

      VolumeStatus.Backend b = done.backend().orElseThrow();
      long wire = b.bytesSent().values().stream().mapToLong(Long::longValue).sum();
      double ratio = (double) wire / Files.size(src);
      System.out.printf("vol-1: %d bytes on the wire for %d logical (%.3f); frames %s%n", wire, Files.size(src), ratio, b.framesSent());
      assertTrue(ratio <= 0.5, "a half-empty image costs at most half its size on the wire, got " + ratio);

      // The second image from the same template: the target holds most of its blocks already.
      ferry.startVolume(spec("vol-2", second)).toCompletableFuture().get(20, TimeUnit.SECONDS);
      VolumeStatus two = awaitCopied(ferry, "vol-2", 120);
      Path out2 = dir.resolve("copy2.img");
      Ext4Images.run(List.of("nbdcopy", two.nbdUrl(), out2.toString()));
      assertEquals(-1, Files.mismatch(second, out2), "the second volume is byte-identical");
      VolumeStatus.Backend b2 = two.backend().orElseThrow();
      long wire2 = b2.bytesSent().values().stream().mapToLong(Long::longValue).sum();
      double ratio2 = (double) wire2 / Files.size(second);
      System.out.printf("vol-2: %d bytes on the wire for %d logical (%.3f); frames %s%n", wire2, Files.size(second), ratio2, b2.framesSent());
      assertTrue(b2.framesSent().getOrDefault("REF", 0L) > 0, "blocks the target holds cross as REF");
      assertTrue(ratio2 <= 0.1, "the second image of a template costs at most a tenth of its size, got " + ratio2);
    }
  }

  @Test
  void frontendMemberCrashMidCopyResumesWithoutResendingWhatArrived() throws Exception {
    Crash crash = copyThroughACrash("vol-f", 21, true);
    // The backend survived: what it sent after the crash beyond the blocks still missing was sent again.
    long framesAfter = dataFrames(crash.done()) - dataFrames(crash.before());
    long missing = crash.done().frontend().orElseThrow().blocksPresent() - crash.before().frontend().orElseThrow().blocksPresent();
    long extra = Math.max(0, framesAfter - missing);
    System.out.printf("vol-f: %d data frames after the crash for %d missing blocks (%d extra)%n", framesAfter, missing, extra);
    assertTrue(extra <= inFlightBound(), "blocks sent again after the frontend restarted: " + extra + " > in-flight bound " + inFlightBound());
  }

  @Test
  void backendMemberCrashMidCopyResumesWithoutResendingWhatArrived() throws Exception {
    Crash crash = copyThroughACrash("vol-b", 31, false);
    // The frontend survived: every block it received twice since the crash is counted there.
    long dup = crash.done().frontend().orElseThrow().duplicateBlocks() - crash.before().frontend().orElseThrow().duplicateBlocks();
    long inFlight = inFlightBound();
    System.out.printf("vol-b: %d blocks received twice after the crash (in-flight bound %d)%n", dup, inFlight);
    assertTrue(dup <= inFlight, "blocks sent again after the restart: " + dup + " > in-flight bound " + inFlightBound());
  }

  /** The volume's status just before the crash and once copied. */
  private record Crash(VolumeStatus before, VolumeStatus done) {}

  /**
   * Moves the first quarter of the volume by reading it through NBD (the background copy held off,
   * so the copy is mid-way whatever the machine's speed), crashes the frontend's or the backend's
   * member, and finishes the copy through the replacement. The backend is where the background copy
   * is held (it sends background blocks only when its setting allows), so a replaced backend
   * releases it; after a frontend crash the backend still holds it, and reading the rest of the
   * volume through NBD fetches it.
   */
  private Crash copyThroughACrash(String volume, long seed, boolean frontend) throws Exception {
    Path src = image(volume, seed, false);
    try (LocalCluster c = cluster(shaped("20 Mbit").withFallback(BACKGROUND_HELD))) {
      Ferry ferry = c.any().ferry();
      ferry.startVolume(spec(volume, src)).toCompletableFuture().get(20, TimeUnit.SECONDS);
      VolumeStatus st = awaitExported(ferry, volume);
      long size = Files.size(src);
      readInPieces(st.nbdUrl(), 0, size / 4);
      VolumeStatus before = status(ferry, volume);
      assertFalse(before.copied(), "the background copy is held and three quarters were not read, so the copy cannot have finished: " + before);
      assertTrue(before.percent() >= 25, "the reads moved the first quarter: " + before);
      c.memberAt(frontend ? st.frontendMember() : st.backendMember()).crash();
      Config release = ConfigFactory.parseString("ferry.blocks.background.enabled = on");
      if (frontend) {
        c.startMember("cloud", "cloud", release);
        VolumeStatus again = awaitExported(c.any().ferry(), volume);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (again.frontendMember().equals(st.frontendMember())) {
          assertTrue(System.nanoTime() < deadline, "no new frontend within 60 s: " + again);
          TimeUnit.MILLISECONDS.sleep(100);
          again = awaitExported(c.any().ferry(), volume);
        }
        readInPieces(again.nbdUrl(), size / 4, size);
      } else {
        c.startMember("edge-a", "edge", release);
      }
      VolumeStatus done = awaitCopied(c.any().ferry(), volume, 180);
      Path out = dir.resolve("copy-" + volume + ".img");
      Ext4Images.run(List.of("nbdcopy", done.nbdUrl(), out.toString()));
      assertEquals(-1, Files.mismatch(src, out), "byte-identical after the " + (frontend ? "frontend" : "backend") + "'s member crashed");
      return new Crash(before, done);
    }
  }

  /**
   * Reads bytes {@code from} to {@code to} of the volume in 256 KiB pieces, one after another, so each
   * on-demand fetch is small enough to arrive well within the fetch timeout (a timed-out fetch is
   * sent again, which would count as a block sent twice).
   */
  private static void readInPieces(String url, long from, long to) throws Exception {
    long piece = 256 * 1024;
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw", "-r"));
    for (long at = from; at < to; at += piece) {
      cmd.add("-c");
      cmd.add("read " + at + " " + piece);
    }
    cmd.add(url);
    String out = Ext4Images.run(cmd);
    long pieces = (to - from) / piece;
    long done = out.lines().filter(l -> l.startsWith("read " + piece + "/" + piece + " bytes")).count();
    assertEquals(pieces, done, "every piece from " + from + " to " + to + " read:\n" + out);
  }

  @Test
  void aSourceThatChangesSizeUnderTheCopyFailsTheMigrationSayingWhy() throws Exception {
    Path src = image("vol-g", 41, false);
    // The background copy stays held: without it the copy cannot finish before the source changes.
    try (LocalCluster c = cluster(shaped("20 Mbit").withFallback(BACKGROUND_HELD))) {
      Ferry ferry = c.any().ferry();
      ferry.startVolume(spec("vol-g", src)).toCompletableFuture().get(20, TimeUnit.SECONDS);
      VolumeStatus st = awaitExported(ferry, "vol-g");
      // The image grows by a block; the backend that replaces the crashed one sees the new size.
      Files.write(src, new byte[64 * 1024], java.nio.file.StandardOpenOption.APPEND);
      c.memberAt(st.backendMember()).crash();
      c.startMember("edge-a", "edge");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      VolumeStatus failed = null;
      while (failed == null) {
        try {
          VolumeStatus now = status(c.any().ferry(), "vol-g");
          assertFalse(now.copied(), "the copy finished although the background copy was held and nothing read the volume");
          failed = now.phase() == VolumePhase.FAILED ? now : null;
        } catch (Exception e) {
          // a member just crashed: ask again
        }
        assertTrue(failed != null || System.nanoTime() < deadline, "vol-g did not fail within 120 s");
        TimeUnit.MILLISECONDS.sleep(200);
      }
      // Which check sees the change first (the attach that reports the source's size, or the frontend
      // taking the new geometry) depends on timing; either way the reason names the new size.
      String grown = String.valueOf(Files.size(src));
      assertTrue(failed.error().contains(grown), "the status says why, naming the source's new size " + grown + ": " + failed.error());
      assertTrue(failed.frontend().isEmpty(), "a failed volume is no longer served");
    }
  }

  /** Background credits plus one on-demand fetch: what may be on the way when a member dies. */
  private static long inFlightBound() {
    BlockSettings s = BlockSettings.from(ConfigFactory.load());
    return s.backgroundCreditsMax() + s.fetchBlocksMax();
  }

  /** Data frames (not zero or control) the volume's backend sent. */
  private static long dataFrames(VolumeStatus st) {
    Map<String, Long> f = st.backend().orElseThrow().framesSent();
    return f.getOrDefault("LZ4", 0L) + f.getOrDefault("RAW", 0L) + f.getOrDefault("REF", 0L);
  }

}
