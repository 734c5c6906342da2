package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clustered frontends with every member its own JVM: a volume served by two frontends at the
 * target site (two "cloud" members), and kill -9 of the frontend's member (twice, once while
 * qemu-io writes) and of the second frontend's member. Every killed member comes back as a new
 * process with a fresh data directory (its store is gone), so only the surviving frontend's copy
 * keeps the acknowledged writes. After each kill the export is reached at the URL the status
 * gives, and {@code qemu-img compare} finds every acknowledged write; the volume then cuts over
 * and is reversed, and the source holds every acknowledged write.
 * Five JVMs: it runs with {@code -DvolumeProcesses=true}.
 */
@EnabledIfSystemProperty(named = "volumeProcesses", matches = "true")
class ClusteredFrontendProcessIT {
  private static final int BLOCK = 64 * 1024;
  private static final int SIZE = 8 << 20;
  private static final Pattern WROTE = Pattern.compile("wrote (\\d+)/\\d+ bytes at offset (\\d+)");

  @TempDir Path dir;

  private VolumeProcessClient volume;

  @BeforeEach
  void client() {
    volume = new VolumeProcessClient(dir, "vol-c", SIZE, BLOCK);
  }

  @Test
  void theExportSurvivesKill9OfEitherFrontendsMemberWithEveryAcknowledgedWrite() throws Exception {
    long seed = Long.getLong("ferry.seed", System.nanoTime());
    System.out.println("ClusteredFrontendProcessIT seed " + seed + " (replay with -Dferry.seed=" + seed + ")");
    Random r = new Random(seed);
    byte[] image = new byte[SIZE];
    r.nextBytes(image);
    Arrays.fill(image, 20 * BLOCK, 40 * BLOCK, (byte) 0);
    Path src = dir.resolve("vol-c.img");
    Files.write(src, image);
    byte[] expected = image.clone();
    String conf = String.join("\n",
        "ferry.persistence.h2.url = \"jdbc:h2:async:" + dir.resolve("shared-journal") + ";AUTO_SERVER=TRUE;WRITE_DELAY=0\"",
        "ferry.blocks.changes { cut-over-threshold-blocks = 4 }",
        // Writes made with no mirror wait for the next one, which here is a JVM started after the kill.
        "ferry.blocks.mirror.hold-limit = 120s");
    List<String> figures = new ArrayList<>();
    try (ProcessCluster c = new ProcessCluster(dir, conf)) {
      ProcessCluster.Member registry = c.start("edge-b", "edge");
      c.awaitUp(Duration.ofSeconds(90));
      c.start("edge-a", "edge");
      c.start("cloud", "cloud");
      c.start("cloud", "cloud");
      c.awaitUp(Duration.ofSeconds(90));

      String start = "{\"volume\":\"vol-c\",\"sourceSite\":\"edge-a\",\"sourcePath\":\"" + src + "\",\"targetSite\":\"cloud\",\"blockSize\":" + BLOCK + ",\"frontends\":2}";
      HttpResponse<String> started = volume.post(registry, "/volumes", start);
      assertEquals(201, started.statusCode(), started.body());
      JsonNode st = volume.await(registry, 180, "COPIED with its mirror in sync", s -> s.path("phase").asText().equals("COPIED") && inSync(s));
      String url = st.path("nbdUrl").asText();
      VolumeProcessClient.write(url, volume.writes(r, 20), expected);

      // 1. kill -9 of the frontend's member, writes acknowledged just before.
      ProcessCluster.Member primary = c.at(st.path("frontendMember").asText());
      String mirrorMember = st.path("mirror").path("member").asText();
      long killed = System.nanoTime();
      c.kill(primary);
      String oldUrl = url;
      st = volume.await(registry, 120, "served by the mirror's member", s -> !s.path("nbdUrl").asText().isEmpty() && !s.path("nbdUrl").asText().equals(oldUrl)
          && s.path("frontendMember").asText().equals(mirrorMember) && s.path("phase").asText().equals("COPIED"));
      figures.add(String.format("frontend killed -> export at the survivor's URL in status: %.1f s", (System.nanoTime() - killed) / 1e9));
      url = st.path("nbdUrl").asText();
      volume.compare(url, expected, "after kill -9 of the frontend's member");

      // 2. A new member in a fresh data dir becomes the mirror and is filled; then the mirror's member is killed.
      ProcessCluster.Member joined = c.start("cloud", "cloud");
      long joining = System.nanoTime();
      st = volume.await(registry, 180, "a new mirror in sync", s -> inSync(s) && s.path("mirror").path("member").asText().equals(joined.address()));
      figures.add(String.format("new member (fresh data dir) up and mirror in sync: %.1f s", (System.nanoTime() - joining) / 1e9));
      VolumeProcessClient.write(url, volume.writes(r, 20), expected);
      killed = System.nanoTime();
      c.kill(joined);
      ProcessCluster.Member third = c.start("cloud", "cloud");
      long t0 = System.nanoTime();
      VolumeProcessClient.write(url, volume.writes(r, 10), expected); // not acknowledged by the primary alone: each waits until the new mirror holds it
      figures.add(String.format("mirror killed: the next 10 writes took %.1f s (waiting for a new member to be the mirror), status then: %s",
          (System.nanoTime() - t0) / 1e9, volume.status(registry).map(s -> s.path("mirror")).orElse(null)));
      assertEquals(third.address(), volume.status(registry).orElseThrow().path("mirror").path("member").asText(), "the writes were held by the new member's mirror");
      volume.compare(url, expected, "after kill -9 of the second frontend's member");

      // 3. The new mirror in sync; the primary's member dies while qemu-io writes.
      st = volume.await(registry, 180, "a third mirror in sync", s -> inSync(s) && s.path("mirror").path("member").asText().equals(third.address())
          && s.path("frontend").isObject());
      primary = c.at(st.path("frontendMember").asText());
      List<Integer> blocks = new ArrayList<>();
      for (int b = 0; b < SIZE / BLOCK; b++) {
        blocks.add(b);
      }
      java.util.Collections.shuffle(blocks, r);
      List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
      List<Integer> during = blocks.subList(0, 60);
      for (int b : during) {
        cmd.add("-c");
        cmd.add("write -P 0x" + Integer.toHexString(1 + (b % 254)) + " " + (long) b * BLOCK + " " + BLOCK);
        cmd.add("-c");
        cmd.add("sleep 50");
      }
      cmd.add(url);
      long writtenBefore = st.path("frontend").path("localWrites").asLong();
      Process writer = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      // Killed once the primary applied a dozen of them: mid-way, whatever the machine's load.
      volume.await(registry, 120, "a dozen writes applied", s -> s.path("frontend").path("localWrites").asLong() >= writtenBefore + 12);
      c.kill(primary);
      c.start("cloud", "cloud"); // the next mirror: without one the writes of step 4 would wait (hold) and fail
      String out = new String(writer.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      writer.waitFor(60, TimeUnit.SECONDS);
      Set<Long> acked = new HashSet<>();
      Matcher m = WROTE.matcher(out);
      while (m.find()) {
        acked.add(Long.parseLong(m.group(2)));
      }
      byte[] before = expected.clone();
      List<Integer> ambiguous = new ArrayList<>();
      for (int b : during) {
        if (acked.contains((long) b * BLOCK)) {
          Arrays.fill(expected, b * BLOCK, (b + 1) * BLOCK, (byte) (1 + (b % 254)));
        } else {
          ambiguous.add(b);
        }
      }
      figures.add("kill -9 of the frontend's member during qemu-io: " + acked.size() + " of " + during.size() + " writes acknowledged before it");
      String third3 = third.address();
      st = volume.await(registry, 120, "served by the third member", s -> s.path("frontendMember").asText().equals(third3) && !s.path("nbdUrl").asText().isEmpty()
          && s.path("phase").asText().equals("COPIED"));
      url = st.path("nbdUrl").asText();
      figures.add("second kill of the frontend's member -> export at the third member: status " + st.path("mirror"));
      byte[] now = volume.read(url);
      for (int b : ambiguous) {
        // Not acknowledged: either what was there or the write, never anything else.
        byte[] got = Arrays.copyOfRange(now, b * BLOCK, (b + 1) * BLOCK);
        byte[] old = Arrays.copyOfRange(before, b * BLOCK, (b + 1) * BLOCK);
        byte[] wrote = new byte[BLOCK];
        Arrays.fill(wrote, (byte) (1 + (b % 254)));
        assertTrue(Arrays.equals(got, old) || Arrays.equals(got, wrote), "block " + b + " holds neither its old bytes nor the unacknowledged write");
        System.arraycopy(got, 0, expected, b * BLOCK, BLOCK);
      }
      assertArrayEquals(expected, now, "every acknowledged write after kill -9 of the frontend's member during writes (seed " + seed + ")");

      // 4. The volume still converges and cuts over on the surviving frontend.
      VolumeProcessClient.write(url, volume.writes(r, 5), expected);
      assertEquals(200, volume.post(registry, "/volumes/vol-c/cutover", "").statusCode());
      st = volume.await(registry, 180, "CUT_OVER", s -> s.path("phase").asText().equals("CUT_OVER"));
      volume.compare(st.path("nbdUrl").asText(), expected, "after the cut-over");

      // 5. Writes after the cut-over, then reverse: the source ends with every acknowledged write,
      // those made at each of the three frontends included.
      VolumeProcessClient.write(st.path("nbdUrl").asText(), volume.writes(r, 5), expected);
      assertEquals(200, volume.post(registry, "/volumes/vol-c/reverse", "").statusCode());
      volume.await(registry, 180, "REVERSED", s -> s.path("phase").asText().equals("REVERSED"));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!Arrays.equals(Files.readAllBytes(src), expected)) {
        assertTrue(System.nanoTime() < deadline, "the source after the reverse does not hold every acknowledged write");
        TimeUnit.MILLISECONDS.sleep(250);
      }
      figures.forEach(f -> System.out.println("ClusteredFrontendProcessIT: " + f));
      System.out.println("ClusteredFrontendProcessIT: final status " + st);
    }
  }

  /**
   * The member-crash list on a clustered volume under write-back: kill -9 of the frontend's
   * member, of the mirror's member and of the source's (backend's) member while write-back ships,
   * then all three during one cut-over (the source's first, so the cut-over cannot end before the
   * others die). Every killed member is replaced by a new process with an empty data dir. After
   * each kill the export and, once shipped, the source hold every acknowledged write; the cut-over
   * ends on the surviving frontend and the reverse leaves the source with every acknowledged write.
   */
  @Test
  void writeBackAndTheCutOverSurviveKill9OfTheFrontendTheMirrorAndTheSource() throws Exception {
    long seed = Long.getLong("ferry.seed", System.nanoTime());
    System.out.println("ClusteredFrontendProcessIT crash list seed " + seed + " (replay with -Dferry.seed=" + seed + ")");
    Random r = new Random(seed);
    byte[] image = new byte[SIZE];
    r.nextBytes(image);
    Arrays.fill(image, 20 * BLOCK, 40 * BLOCK, (byte) 0);
    Path src = dir.resolve("vol-c.img");
    Files.write(src, image);
    byte[] expected = image.clone();
    String conf = String.join("\n",
        "ferry.persistence.h2.url = \"jdbc:h2:async:" + dir.resolve("shared-journal") + ";AUTO_SERVER=TRUE;WRITE_DELAY=0\"",
        "ferry.blocks.changes { rpo = 2s, cut-over-threshold-blocks = 4 }",
        "ferry.blocks.mirror.hold-limit = 120s");
    List<String> figures = new ArrayList<>();
    long began = System.nanoTime();
    try (ProcessCluster c = new ProcessCluster(dir, conf)) {
      ProcessCluster.Member registry = c.start("edge-b", "edge");
      c.awaitUp(Duration.ofSeconds(90));
      ProcessCluster.Member source = c.start("edge-a", "edge");
      c.start("cloud", "cloud");
      c.start("cloud", "cloud");
      c.start("cloud", "cloud"); // a spare: the next mirror is named as soon as one dies
      c.awaitUp(Duration.ofSeconds(90));
      String start = "{\"volume\":\"vol-c\",\"sourceSite\":\"edge-a\",\"sourcePath\":\"" + src + "\",\"targetSite\":\"cloud\",\"blockSize\":" + BLOCK + ",\"frontends\":2}";
      assertEquals(201, volume.post(registry, "/volumes", start).statusCode());
      JsonNode st = volume.await(registry, 180, "COPIED with its mirror in sync", s -> s.path("phase").asText().equals("COPIED") && inSync(s));
      assertEquals(200, volume.post(registry, "/volumes/vol-c/policy", "{\"policy\":\"write-back\"}").statusCode());
      String url = st.path("nbdUrl").asText();

      // 1. Write-back: the frontend's member dies with writes not yet shipped.
      VolumeProcessClient.write(url, volume.writes(r, 20), expected);
      st = volume.status(registry).orElseThrow();
      String mirrorMember = st.path("mirror").path("member").asText();
      figures.add("kill -9 frontend during write-back: " + st.path("changes").path("pendingBlocks").asLong() + " blocks pending, " + st.path("changes").path("shipments").asLong() + " shipments done");
      long killed = System.nanoTime();
      c.kill(c.at(st.path("frontendMember").asText()));
      c.start("cloud", "cloud");
      String oldUrl = url;
      st = volume.await(registry, 120, "served by the mirror's member", s -> s.path("frontendMember").asText().equals(mirrorMember)
          && !s.path("nbdUrl").asText().isEmpty() && !s.path("nbdUrl").asText().equals(oldUrl));
      figures.add(String.format("  export at the survivor's URL %.1f s after the kill", (System.nanoTime() - killed) / 1e9));
      url = st.path("nbdUrl").asText();
      volume.compare(url, expected, "after kill -9 of the frontend's member during write-back");
      VolumeProcessClient.awaitSource(src, expected, 120, "write-back after kill -9 of the frontend's member");
      figures.add(String.format("  source holds every acknowledged write %.1f s after the kill; promoted frontend shipped %d blocks",
          (System.nanoTime() - killed) / 1e9, volume.status(registry).orElseThrow().path("changes").path("shippedBlocks").asLong()));

      // 2. Write-back: the mirror's member dies; the writes right after wait for the next mirror.
      st = volume.await(registry, 180, "a new mirror in sync", ClusteredFrontendProcessIT::inSync);
      VolumeProcessClient.write(url, volume.writes(r, 20), expected);
      st = volume.status(registry).orElseThrow();
      String deadMirror = st.path("mirror").path("member").asText();
      figures.add("kill -9 mirror during write-back: " + st.path("changes").path("pendingBlocks").asLong() + " blocks pending");
      c.kill(c.at(deadMirror));
      c.start("cloud", "cloud");
      long t0 = System.nanoTime();
      VolumeProcessClient.write(url, volume.writes(r, 10), expected);
      st = volume.status(registry).orElseThrow();
      figures.add(String.format("  the next 10 writes took %.1f s (held until a new mirror held them): mirror %s", (System.nanoTime() - t0) / 1e9, st.path("mirror")));
      assertTrue(!st.path("mirror").path("member").asText().equals(deadMirror) && st.path("mirror").path("failedWrites").asLong() == 0, st.path("mirror").toString());
      volume.compare(url, expected, "after kill -9 of the mirror's member during write-back");
      VolumeProcessClient.awaitSource(src, expected, 120, "write-back after kill -9 of the mirror's member");

      // 3. Write-back: the source's member dies with writes not yet shipped.
      VolumeProcessClient.write(url, volume.writes(r, 20), expected);
      figures.add("kill -9 source during write-back: " + volume.status(registry).orElseThrow().path("changes").path("pendingBlocks").asLong() + " blocks pending");
      killed = System.nanoTime();
      c.kill(source);
      source = c.start("edge-a", "edge");
      VolumeProcessClient.awaitSource(src, expected, 180, "write-back after kill -9 of the source's member");
      figures.add(String.format("  source (new member) holds every acknowledged write %.1f s after the kill", (System.nanoTime() - killed) / 1e9));
      volume.compare(url, expected, "after kill -9 of the source's member during write-back");

      // 4. The cut-over: the source's member dies under the first pass, then the mirror's, then the frontend's.
      st = volume.await(registry, 180, "the mirror in sync before the cut-over", ClusteredFrontendProcessIT::inSync);
      VolumeProcessClient.write(url, volume.writes(r, 20), expected);
      assertEquals(200, volume.post(registry, "/volumes/vol-c/cutover", "").statusCode());
      c.kill(source);
      st = volume.status(registry).orElseThrow();
      figures.add("cut-over asked, kill -9 source: phase " + st.path("phase").asText() + ", " + st.path("changes").path("pendingBlocks").asLong() + " blocks pending");
      String firstMirror = st.path("mirror").path("member").asText();
      c.kill(c.at(firstMirror));
      c.start("cloud", "cloud");
      st = volume.await(registry, 180, "a new mirror in sync during the cut-over", s -> inSync(s) && !s.path("mirror").path("member").asText().equals(firstMirror));
      figures.add("  kill -9 mirror during the cut-over: phase " + st.path("phase").asText() + ", new mirror in sync");
      String survivor = st.path("mirror").path("member").asText();
      String before = st.path("nbdUrl").asText();
      c.kill(c.at(st.path("frontendMember").asText()));
      c.start("cloud", "cloud");
      st = volume.await(registry, 120, "served by the mirror's member during the cut-over", s -> s.path("frontendMember").asText().equals(survivor)
          && !s.path("nbdUrl").asText().isEmpty() && !s.path("nbdUrl").asText().equals(before));
      figures.add("  kill -9 frontend during the cut-over: phase " + st.path("phase").asText() + " at the survivor");
      killed = System.nanoTime();
      c.start("edge-a", "edge");
      st = volume.await(registry, 240, "CUT_OVER", s -> s.path("phase").asText().equals("CUT_OVER") && !s.path("nbdUrl").asText().isEmpty());
      figures.add(String.format("  CUT_OVER %.1f s after the new source member started", (System.nanoTime() - killed) / 1e9));
      url = st.path("nbdUrl").asText();
      volume.compare(url, expected, "after the cut-over through three kills");

      // 5. Writes after the cut-over, then reverse: the source holds every acknowledged write.
      VolumeProcessClient.write(url, volume.writes(r, 5), expected);
      assertEquals(200, volume.post(registry, "/volumes/vol-c/reverse", "").statusCode());
      st = volume.await(registry, 180, "REVERSED", s -> s.path("phase").asText().equals("REVERSED"));
      VolumeProcessClient.awaitSource(src, expected, 60, "the source after the reverse");
      figures.add(String.format("whole run %.0f s", (System.nanoTime() - began) / 1e9));
      figures.forEach(f -> System.out.println("ClusteredFrontendProcessIT crash list: " + f));
      System.out.println("ClusteredFrontendProcessIT crash list: final status " + st);
    }
  }

  private static boolean inSync(JsonNode s) {
    return s.path("mirror").path("state").asText().equals("in-sync") && !s.path("nbdUrl").asText().isEmpty();
  }
}
