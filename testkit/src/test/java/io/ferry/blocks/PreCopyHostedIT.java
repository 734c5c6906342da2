package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Ferry;
import io.ferry.api.VolumePhase;
import io.ferry.api.VolumeStatus;
import io.ferry.runtime.LocalCluster;
import io.ferry.testkit.Ext4Images;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pre-copy volume hosted by the shells, with real clients: started with {@code "preCopy": true}
 * through the HTTP API, the workload (qemu-io) writes through Ferry's NBD export at the source
 * member while the background copy fills the target and the target exports nothing; then
 * {@code POST /volumes/{v}/cutover} while qemu-io goes on writing runs the source's passes and the
 * short pause; the status shows the passes and the pause, the target's export serves, the source's
 * refuses, and {@code qemu-img compare} finds the target equal to the image of every acknowledged
 * write.
 */
@ExtendWith(SeedExtension.class)
class PreCopyHostedIT {

  private static final int BLOCK = 64 * 1024;
  private static final long SIZE = 8L << 20; // 128 blocks

  @TempDir Path dir;

  private record Write(long offset, int length, int pattern) {
    String command() {
      return "write -P 0x" + Integer.toHexString(pattern) + " " + offset + " " + length;
    }

    String acknowledged() {
      return "wrote " + length + "/" + length + " bytes at offset " + offset;
    }

    void applyTo(byte[] image) {
      Arrays.fill(image, (int) offset, (int) offset + length, (byte) pattern);
    }
  }

  private static List<Write> writes(Random r, int n) {
    List<Write> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int length = r.nextBoolean() ? BLOCK : 512 * (1 + r.nextInt(300));
      long offset = r.nextBoolean() ? (long) r.nextInt((int) (SIZE / BLOCK)) * BLOCK : 512L * r.nextInt((int) ((SIZE - length) / 512));
      offset = Math.min(offset, SIZE - length);
      out.add(new Write(offset, length, 1 + r.nextInt(254)));
    }
    return out;
  }

  /**
   * Runs the writes in one qemu-io process, in order; applies to {@code expected} exactly those
   * acknowledged (qemu-io reports each) and returns how many were. Once the source refuses (the
   * cut-over), the rest fail and are not applied anywhere.
   */
  private static int write(String url, List<Write> writes, byte[] expected) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
    for (Write w : writes) {
      cmd.add("-c");
      cmd.add(w.command());
    }
    cmd.add(url);
    String out = Ext4Images.exec(cmd, 120).output();
    int acked = 0;
    int at = 0;
    for (Write w : writes) {
      int i = out.indexOf(w.acknowledged(), at);
      if (i < 0) {
        break; // refused or not run: a later write cannot have been acknowledged before it
      }
      at = i + 1;
      w.applyTo(expected);
      acked++;
    }
    return acked;
  }

  private static VolumeStatus status(Ferry ferry, String volume) throws Exception {
    return ferry.volumeStatus(new VolumeId(volume)).toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static HttpResponse<String> post(String http, String path, String body) throws Exception {
    return HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(http + path)).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static VolumeStatus await(Ferry ferry, String volume, String what, java.util.function.Predicate<VolumeStatus> done, int seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    VolumeStatus st = null;
    while (true) {
      try {
        st = status(ferry, volume);
      } catch (Exception e) {
        st = null;
      }
      if (st != null && done.test(st)) {
        return st;
      }
      assertTrue(System.nanoTime() < deadline, "volume " + volume + " not " + what + " within " + seconds + " s: " + st);
      TimeUnit.MILLISECONDS.sleep(100);
    }
  }

  @Test
  void theWorkloadWritesAtTheSourceThenCutsOverToTheTargetWithEveryAcknowledgedWrite(Seed seed) throws Exception {
    Random r = seed.random();
    byte[] initial = new byte[(int) SIZE];
    r.nextBytes(initial);
    Arrays.fill(initial, 40 * BLOCK, 56 * BLOCK, (byte) 0);
    Path src = dir.resolve("vol-p.img");
    Files.write(src, initial);
    byte[] expected = initial.clone();
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("edge-b", "edge"); // holds the registry
    sites.put("edge-a", "edge");
    sites.put("cloud", "cloud");
    try (LocalCluster c = LocalCluster.start(dir.resolve("data"), sites, ConfigFactory.parseString("ferry.blocks.pre-copy.threshold-blocks = 4"), Duration.ofSeconds(60))) {
      Ferry ferry = c.any().ferry();
      String http = c.any().httpUrl().orElseThrow();
      HttpResponse<String> started = post(http, "/volumes",
          "{\"volume\":\"vol-p\",\"sourceSite\":\"edge-a\",\"sourcePath\":\"" + src + "\",\"targetSite\":\"cloud\",\"blockSize\":" + BLOCK + ",\"preCopy\":true}");
      assertEquals(201, started.statusCode(), started.body());

      // The workload's URL is the source's export; the target exports nothing to it yet.
      VolumeStatus tracking = await(ferry, "vol-p", "exported at the source", st -> st.preCopy().isPresent() && !st.preCopy().get().sourceNbdUrl().isEmpty(), 60);
      String sourceUrl = tracking.preCopy().get().sourceNbdUrl();
      assertEquals(sourceUrl, tracking.nbdUrl(), "before the cut-over the status gives the source's URL");
      int acked = write(sourceUrl, writes(r, 20), expected);
      assertEquals(20, acked, "every write at the source is acknowledged before the cut-over");

      // (Each await also needs the backend's answer: a status without it has no pre-copy figures.)
      VolumeStatus copied = await(ferry, "vol-p", "COPIED", st -> st.phase() == VolumePhase.COPIED && st.preCopy().isPresent(), 120);
      assertEquals(sourceUrl, copied.nbdUrl(), "copied, but the workload still runs at the source: " + copied);
      acked = write(sourceUrl, writes(r, 20), expected);
      assertEquals(20, acked);

      // The cut-over while the client goes on writing: its writes are acknowledged at the source
      // (tracked, then shipped by the passes) until the final pass refuses them.
      AtomicBoolean stop = new AtomicBoolean();
      byte[] during = expected.clone();
      CompletableFuture<Integer> client = CompletableFuture.supplyAsync(() -> {
        int n = 0;
        try {
          while (!stop.get()) {
            List<Write> batch = writes(r, 10);
            int a = write(sourceUrl, batch, during);
            n += a;
            if (a < batch.size()) {
              return n; // refused: cut over
            }
          }
          return n;
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      HttpResponse<String> cut = post(http, "/volumes/vol-p/cutover", "");
      assertEquals(200, cut.statusCode(), cut.body());
      assertTrue(cut.body().contains("CONVERGING"), cut.body());
      VolumeStatus over = await(ferry, "vol-p", "CUT_OVER", st -> st.phase() == VolumePhase.CUT_OVER, 120);
      stop.set(true);
      int duringAcked = client.get(120, TimeUnit.SECONDS);
      System.arraycopy(during, 0, expected, 0, expected.length);

      VolumeStatus.PreCopy pc = await(ferry, "vol-p", "reported cut over by the source", st -> st.preCopy().map(p -> p.pauseMillis() >= 0).orElse(false), 30)
          .preCopy().orElse(null);
      System.out.println("pre-copy hosted: writes acknowledged during the cut-over " + duringAcked + "; status " + pc);
      assertTrue(pc != null && pc.passes().size() >= 2, "pass 0 (the background copy) and at least the final pass: " + pc);
      assertTrue(pc.passes().get(pc.passes().size() - 1).writesHeld(), "the final pass held writes: " + pc);
      assertTrue(pc.pauseMillis() >= 0 && pc.pauseMillis() < 30_000, "the pause: " + pc);
      assertEquals("CUT_OVER", pc.phase());
      assertFalse(over.nbdUrl().isEmpty());
      assertFalse(over.nbdUrl().equals(sourceUrl), "after the cut-over the workload's URL is the target's: " + over);
      assertTrue(over.targetIsPrimary(), over.toString());

      Path expectedFile = dir.resolve("expected.img");
      Files.write(expectedFile, expected);
      String compare = Ext4Images.run(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", expectedFile.toString(), over.nbdUrl()));
      assertTrue(compare.contains("Images are identical"), "the target after the cut-over vs every acknowledged write: " + compare);
      // The source holds exactly the acknowledged writes too (refused ones were never applied there).
      assertTrue(Arrays.equals(expected, Files.readAllBytes(src)), "the source image vs every acknowledged write");
      // The source's export no longer takes writes: the target is the only primary.
      Ext4Images.Result late = Ext4Images.exec(List.of("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 512", sourceUrl), 60);
      assertFalse(late.output().contains("wrote 512/512"), "the source after the cut-over: " + late.output());
      // And the target serves writes now.
      byte[] after = expected.clone();
      assertEquals(5, write(over.nbdUrl(), writes(r, 5), after));
      Files.write(expectedFile, after);
      assertTrue(Ext4Images.run(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", expectedFile.toString(), over.nbdUrl())).contains("Images are identical"));

      // A second pre-copy volume in the same cluster is aborted instead: the source stays the
      // primary and its workload keeps writing through the source's export.
      Path other = dir.resolve("vol-a.img");
      Files.write(other, initial);
      byte[] otherExpected = initial.clone();
      assertEquals(201, post(http, "/volumes",
          "{\"volume\":\"vol-a\",\"sourceSite\":\"edge-a\",\"sourcePath\":\"" + other + "\",\"targetSite\":\"cloud\",\"blockSize\":" + BLOCK + ",\"preCopy\":true}").statusCode());
      VolumeStatus aCopied = await(ferry, "vol-a", "COPIED", st -> st.phase() == VolumePhase.COPIED && st.preCopy().map(p -> !p.sourceNbdUrl().isEmpty()).orElse(false), 120);
      String aUrl = aCopied.nbdUrl();
      // The target's NBD server lists the cut-over volume but not vol-a's sink (the source's passes
      // reach it by name; a client that lists is not offered it).
      String targetServer = over.nbdUrl().substring(0, over.nbdUrl().lastIndexOf('/'));
      String listed = Ext4Images.exec(List.of("nbdinfo", "--list", targetServer), 60).output();
      assertTrue(listed.contains("vol-p") && !listed.contains("precopy-sink"), "NBD LIST at the target: " + listed);
      assertEquals(String.valueOf(SIZE), Ext4Images.exec(List.of("nbdinfo", "--size", targetServer + "/vol-a.precopy-sink"), 60).output().trim(),
          "the sink is still there for the passes");
      assertEquals(10, write(aUrl, writes(r, 10), otherExpected));
      HttpResponse<String> abort = post(http, "/volumes/vol-a/abort", "");
      assertEquals(200, abort.statusCode(), abort.body());
      VolumeStatus aborted = await(ferry, "vol-a", "ABORTED", st -> st.phase() == VolumePhase.ABORTED && st.preCopy().isPresent(), 60);
      assertEquals(aUrl, aborted.nbdUrl(), "after an abort the workload's URL is still the source's: " + aborted);
      assertEquals(10, write(aUrl, writes(r, 10), otherExpected), "the source's export serves on after the abort");
      assertTrue(Arrays.equals(otherExpected, Files.readAllBytes(other)), "the source holds every acknowledged write after the abort");
    }
  }

  /**
   * The source's member crashes under the workload: the restarted backend reads its change set
   * from the change log next to the image (no full recopy, the status's recopy stays empty); the
   * workload reconnects to the URL the status gives; then the target's member crashes
   * and restarts (still not exporting to the workload); after the cut-over the target equals every
   * acknowledged write. Crashes wait for the failure detector (about 10 s each), so this runs only
   * with {@code -DpreCopyCrashes=true} (40-55 s); the default build keeps the first test.
   */
  /**
   * Writes faster than the link the passes may use ({@code max-bytes-per-second}, 512 KiB/s; the
   * workload rewrites a hot set of 16 blocks of 64 KiB as fast as qemu-io goes): the passes do not
   * shrink the change set (or not within 3 passes), so the source switches to write-blocking, its status says so and why, and the
   * volume still converges and cuts over with every acknowledged write at the target.
   */
  @Test
  void writesFasterThanTheLinkSwitchToWriteBlockingAndStillCutOver(Seed seed) throws Exception {
    Random r = seed.random();
    byte[] initial = new byte[(int) SIZE];
    r.nextBytes(initial);
    Path src = dir.resolve("vol-w.img");
    Files.write(src, initial);
    byte[] expected = initial.clone();
    List<Integer> hot = new ArrayList<>();
    for (int b = 0; b < SIZE / BLOCK; b++) {
      hot.add(b);
    }
    java.util.Collections.shuffle(hot, r);
    List<Integer> hotSet = List.copyOf(hot.subList(0, 16));
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("edge-b", "edge");
    sites.put("edge-a", "edge");
    sites.put("cloud", "cloud");
    try (LocalCluster c = LocalCluster.start(dir.resolve("data"), sites,
        ConfigFactory.parseString("ferry.blocks.pre-copy { threshold-blocks = 1, max-passes = 3, max-bytes-per-second = 524288 }"), Duration.ofSeconds(60))) {
      Ferry ferry = c.any().ferry();
      String http = c.any().httpUrl().orElseThrow();
      assertEquals(201, post(http, "/volumes",
          "{\"volume\":\"vol-w\",\"sourceSite\":\"edge-a\",\"sourcePath\":\"" + src + "\",\"targetSite\":\"cloud\",\"blockSize\":" + BLOCK + ",\"preCopy\":true}").statusCode());
      VolumeStatus copied = await(ferry, "vol-w", "COPIED at the source", st -> st.phase() == VolumePhase.COPIED && st.preCopy().map(p -> !p.sourceNbdUrl().isEmpty()).orElse(false), 120);
      String url = copied.nbdUrl();
      AtomicBoolean stop = new AtomicBoolean();
      byte[] during = expected.clone();
      Random wr = new Random(r.nextLong());
      CompletableFuture<Integer> client = CompletableFuture.supplyAsync(() -> {
        int n = 0;
        try {
          while (!stop.get()) {
            List<Write> batch = new ArrayList<>();
            // Many writes per qemu-io process: its start-up, slow on a loaded machine, must not pace the workload below the link.
            for (int i = 0; i < 64; i++) {
              batch.add(new Write((long) hotSet.get(wr.nextInt(hotSet.size())) * BLOCK, BLOCK, 1 + wr.nextInt(254)));
            }
            int a = write(url, batch, during);
            n += a;
            if (a < batch.size()) {
              return n; // refused: cut over
            }
          }
          return n;
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      // The whole hot set is in the change set before the cut-over is asked for.
      await(ferry, "vol-w", "the hot set written", st -> st.preCopy().map(p -> p.changedBlocksNow() >= hotSet.size()).orElse(false), 60);
      HttpResponse<String> cut = post(http, "/volumes/vol-w/cutover", "");
      assertEquals(200, cut.statusCode(), cut.body());
      VolumeStatus blocking = await(ferry, "vol-w", "write-blocking", st -> st.phase() == VolumePhase.CUT_OVER
          || st.preCopy().map(p -> p.mode().equals("WRITE_BLOCKING")).orElse(false), 120);
      System.out.println("pre-copy hosted, writes faster than the link: " + blocking.preCopy().orElse(null));
      VolumeStatus over = await(ferry, "vol-w", "CUT_OVER", st -> st.phase() == VolumePhase.CUT_OVER, 120);
      stop.set(true);
      int acked = client.get(120, TimeUnit.SECONDS);
      System.arraycopy(during, 0, expected, 0, expected.length);
      VolumeStatus.PreCopy pc = await(ferry, "vol-w", "the source's figures", st -> st.preCopy().map(p -> p.pauseMillis() >= 0).orElse(false), 30).preCopy().get();
      System.out.println("pre-copy hosted, writes faster than the link: " + acked + " writes acknowledged; " + pc);
      assertEquals("WRITE_BLOCKING", pc.mode(), pc.toString());
      assertTrue(pc.writeBlockingReason().contains("outpace the link") || pc.writeBlockingReason().contains("passes did not bring"), pc.writeBlockingReason());
      assertTrue(pc.passes().stream().anyMatch(VolumeStatus.Pass::writeBlocking), pc.toString());
      assertTrue(pc.writesMirrored() > 0, "writes waited for the target: " + pc);
      Path expectedFile = dir.resolve("expected-w.img");
      Files.write(expectedFile, expected);
      String compare = Ext4Images.run(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", expectedFile.toString(), over.nbdUrl()));
      assertTrue(compare.contains("Images are identical"), "the target after a write-blocking cut-over: " + compare);
      assertTrue(Arrays.equals(expected, Files.readAllBytes(src)), "the source holds every acknowledged write too");
    }
  }

  /**
   * The target's frontend moves while the source's passes run (its member leaves the cluster, and
   * the frontend starts again on the target site's other member, with an empty store): the user's
   * cut-over request stands at the source, the new frontend is told so when it attaches, fetches
   * every block, asks for the passes into its own sink, and the cut-over completes with every
   * acknowledged write at the target; the status says the passes broke off and the request stood.
   * The passes are paced (256 KiB/s over 40 changed blocks of 64 KiB: about 10 s, twice, the first
   * long enough for the move under load); a graceful leave needs no failure detector, so this runs
   * in the default build (21-23 s at load 6-18).
   */
  @Test
  void aFrontendThatMovesDuringThePassesStillCutsOverWithEveryAcknowledgedWrite(Seed seed) throws Exception {
    Random r = seed.random();
    byte[] initial = new byte[(int) SIZE];
    r.nextBytes(initial);
    Path src = dir.resolve("vol-m.img");
    Files.write(src, initial);
    byte[] expected = initial.clone();
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("edge-b", "edge"); // holds the registry; the test talks to it, it never leaves
    sites.put("edge-a", "edge");
    sites.put("cloud", "cloud");
    try (LocalCluster c = LocalCluster.start(dir.resolve("data"), sites,
        ConfigFactory.parseString("ferry.blocks.pre-copy { threshold-blocks = 4, max-bytes-per-second = 262144 }"), Duration.ofSeconds(60))) {
      c.startMember("cloud", "cloud"); // where the frontend goes when its member leaves
      Ferry ferry = c.member("edge-b").ferry();
      String http = c.member("edge-b").httpUrl().orElseThrow();
      assertEquals(201, post(http, "/volumes",
          "{\"volume\":\"vol-m\",\"sourceSite\":\"edge-a\",\"sourcePath\":\"" + src + "\",\"targetSite\":\"cloud\",\"blockSize\":" + BLOCK + ",\"preCopy\":true}").statusCode());
      VolumeStatus copied = await(ferry, "vol-m", "COPIED at the source", st -> st.phase() == VolumePhase.COPIED && st.preCopy().map(p -> !p.sourceNbdUrl().isEmpty()).orElse(false), 120);
      String url = copied.nbdUrl();
      // 40 whole blocks changed since the copy: pass 1 takes about 10 s at 256 KiB/s.
      List<Integer> blocks = new ArrayList<>();
      for (int b = 0; b < SIZE / BLOCK; b++) {
        blocks.add(b);
      }
      java.util.Collections.shuffle(blocks, r);
      List<Write> changed = new ArrayList<>();
      for (int b : blocks.subList(0, 40)) {
        changed.add(new Write((long) b * BLOCK, BLOCK, 1 + r.nextInt(254)));
      }
      assertEquals(40, write(url, changed, expected));

      HttpResponse<String> cut = post(http, "/volumes/vol-m/cutover", "");
      assertEquals(200, cut.statusCode(), cut.body());
      // (A pass shows in the status once it ended: pass 1 runs while the phase is CONVERGING with at most pass 0.)
      VolumeStatus converging = await(ferry, "vol-m", "converging", st -> st.preCopy().map(p -> p.phase().equals("CONVERGING")).orElse(false), 60);
      assertTrue(converging.preCopy().get().passes().size() <= 1, "pass 1 is under way: " + converging.preCopy().get());
      String moved = converging.frontendMember();
      System.out.println("pre-copy, frontend moved during the passes: passes so far " + converging.preCopy().get().passes() + "; the frontend's member " + moved + " leaves");
      c.memberAt(moved).close();
      // The source is still the primary: the workload goes on writing there meanwhile.
      assertEquals(10, write(url, writes(r, 10), expected), "the source serves while the target's frontend moves");

      VolumeStatus over = await(ferry, "vol-m", "CUT_OVER on the target site's other member",
          st -> st.phase() == VolumePhase.CUT_OVER && !st.frontendMember().equals(moved) && !st.nbdUrl().isEmpty(), 180);
      VolumeStatus.PreCopy pc = await(ferry, "vol-m", "the source's figures", st -> st.preCopy().map(p -> p.pauseMillis() >= 0).orElse(false), 30).preCopy().get();
      System.out.println("pre-copy, frontend moved during the passes: cut over at " + over.frontendMember() + "; status " + pc);
      assertEquals("CUT_OVER", pc.phase());
      assertTrue(pc.error().contains("the cut-over request stands"), "the status says the passes broke off and the request stood: " + pc);
      assertTrue(over.targetIsPrimary(), over.toString());
      Path expectedFile = dir.resolve("expected-m.img");
      Files.write(expectedFile, expected);
      String compare = Ext4Images.run(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", expectedFile.toString(), over.nbdUrl()));
      assertTrue(compare.contains("Images are identical"), "the target after its frontend moved during the passes: " + compare);
      assertTrue(Arrays.equals(expected, Files.readAllBytes(src)), "the source holds every acknowledged write too");
      Ext4Images.Result late = Ext4Images.exec(List.of("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 512", url), 60);
      assertFalse(late.output().contains("wrote 512/512"), "the source after the cut-over: " + late.output());
    }
  }

  /** Distinct blocks {@code writes} touched. */
  private static long changedBlocks(List<Write> writes) {
    return writes.stream().flatMapToLong(w -> java.util.stream.LongStream.rangeClosed(w.offset() / BLOCK, (w.offset() + w.length() - 1) / BLOCK)).distinct().count();
  }

  @Test
  @EnabledIfSystemProperty(named = "preCopyCrashes", matches = "true")
  void aCrashOfTheSourceMemberShipsOnlyTheChangedBlocksAndLosesNoAcknowledgedWrite(Seed seed) throws Exception {
    Random r = seed.random();
    byte[] initial = new byte[(int) SIZE];
    r.nextBytes(initial);
    Path src = dir.resolve("vol-q.img");
    Files.write(src, initial);
    byte[] expected = initial.clone();
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("edge-b", "edge");
    sites.put("edge-a", "edge");
    sites.put("cloud", "cloud");
    try (LocalCluster c = LocalCluster.start(dir.resolve("data"), sites, ConfigFactory.parseString("ferry.blocks.pre-copy.threshold-blocks = 4"), Duration.ofSeconds(60))) {
      Ferry ferry = c.any().ferry();
      String http = c.any().httpUrl().orElseThrow();
      assertEquals(201, post(http, "/volumes",
          "{\"volume\":\"vol-q\",\"sourceSite\":\"edge-a\",\"sourcePath\":\"" + src + "\",\"targetSite\":\"cloud\",\"blockSize\":" + BLOCK + ",\"preCopy\":true}").statusCode());
      VolumeStatus copied = await(ferry, "vol-q", "COPIED at the source", st -> st.phase() == VolumePhase.COPIED && st.preCopy().map(p -> !p.sourceNbdUrl().isEmpty()).orElse(false), 120);
      String firstUrl = copied.nbdUrl();
      List<Write> all = new ArrayList<>(writes(r, 20));
      assertEquals(20, write(firstUrl, all, expected));
      assertEquals("", copied.preCopy().get().recopy());

      c.memberAt(copied.backendMember()).crash();
      c.startMember("edge-a", "edge");
      VolumeStatus back = await(ferry, "vol-q", "exported again at the source",
          st -> !st.backendMember().equals(copied.backendMember()) && st.preCopy().map(p -> !p.sourceNbdUrl().isEmpty()).orElse(false), 120);
      long changed = changedBlocks(all);
      assertEquals("", back.preCopy().get().recopy(), "the change set was read from its log: " + back.preCopy().get());
      assertEquals(changed, back.preCopy().get().changedBlocksNow(), "exactly the blocks written before the crash: " + back.preCopy().get());
      String url = back.nbdUrl();
      List<Write> more = writes(r, 20);
      all.addAll(more);
      assertEquals(20, write(url, more, expected), "the workload goes on at the restarted source");

      // The target's member crashes too: its frontend comes back from its journal and store, still
      // exporting nothing to the workload, which writes at the source meanwhile.
      c.memberAt(back.frontendMember()).crash();
      List<Write> last = writes(r, 10);
      all.addAll(last);
      assertEquals(10, write(url, last, expected), "the source serves while the target is down");
      c.startMember("cloud", "cloud");
      VolumeStatus recovered = await(ferry, "vol-q", "COPIED again at the target",
          st -> st.phase() == VolumePhase.COPIED && st.preCopy().isPresent() && !st.frontendMember().equals(back.frontendMember()), 120);
      assertEquals(url, recovered.nbdUrl(), "the workload's URL is still the source's: " + recovered);

      HttpResponse<String> cut = post(http, "/volumes/vol-q/cutover", "");
      assertEquals(200, cut.statusCode(), cut.body());
      VolumeStatus over = await(ferry, "vol-q", "CUT_OVER", st -> st.phase() == VolumePhase.CUT_OVER, 120);
      VolumeStatus.PreCopy pc = await(ferry, "vol-q", "the source's figures", st -> st.preCopy().map(p -> p.passes().size() >= 2).orElse(false), 30).preCopy().get();
      System.out.println("pre-copy hosted after a source crash: pass 1 shipped " + pc.passes().get(1).changedBlocks() + " of " + SIZE / BLOCK
          + " blocks (the blocks the 50 writes touched: " + changedBlocks(all) + "): " + pc);
      assertEquals(changedBlocks(all), pc.passes().get(1).changedBlocks(), "pass 1 shipped only the blocks written since the copy: " + pc);
      Path expectedFile = dir.resolve("expected-q.img");
      Files.write(expectedFile, expected);
      String compare = Ext4Images.run(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", expectedFile.toString(), over.nbdUrl()));
      assertTrue(compare.contains("Images are identical"), "the target after a source crash and the cut-over: " + compare);
    }
  }
}
