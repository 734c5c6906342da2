package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A volume's end of life with every member its own JVM (edge-b holds the registry and the shared
 * H2 journal; edge-a the source; cloud the target) and the source's member killed with SIGKILL
 * twice: once with write-back writes acknowledged at the target and not yet shipped, once right
 * after the cut-over was asked. qemu-io writes through the export; the target after the cut-over
 * and the source after the reverse equal the image the acknowledged writes make. Four JVMs: it
 * runs with {@code -DvolumeProcesses=true}.
 */
@EnabledIfSystemProperty(named = "volumeProcesses", matches = "true")
class VolumeProcessIT {
  private static final int BLOCK = 64 * 1024;
  private static final int SIZE = 8 << 20;

  @TempDir Path dir;

  private VolumeProcessClient volume;

  @BeforeEach
  void client() {
    volume = new VolumeProcessClient(dir, "vol-p", SIZE, BLOCK);
  }

  @Test
  void cutOverAndReverseWithTheSourcesMemberKilledDuringWriteBackAndDuringTheCutOver() throws Exception {
    long seed = Long.getLong("ferry.seed", System.nanoTime());
    System.out.println("VolumeProcessIT seed " + seed + " (replay with -Dferry.seed=" + seed + ")");
    Random r = new Random(seed);
    byte[] image = new byte[SIZE];
    r.nextBytes(image);
    Arrays.fill(image, 20 * BLOCK, 40 * BLOCK, (byte) 0);
    Path src = dir.resolve("vol-p.img");
    Files.write(src, image);
    byte[] expected = image.clone();
    String conf = String.join("\n",
        "ferry.persistence.h2.url = \"jdbc:h2:async:" + dir.resolve("shared-journal") + ";AUTO_SERVER=TRUE;WRITE_DELAY=0\"",
        "ferry.blocks.changes { rpo = 2s, cut-over-threshold-blocks = 4 }");
    try (ProcessCluster c = new ProcessCluster(dir, conf)) {
      ProcessCluster.Member registry = c.start("edge-b", "edge");
      c.awaitUp(Duration.ofSeconds(90));
      ProcessCluster.Member source = c.start("edge-a", "edge");
      c.start("cloud", "cloud");
      c.awaitUp(Duration.ofSeconds(90));

      String start = "{\"volume\":\"vol-p\",\"sourceSite\":\"edge-a\",\"sourcePath\":\"" + src + "\",\"targetSite\":\"cloud\",\"blockSize\":" + BLOCK + "}";
      HttpResponse<String> started = volume.post(registry, "/volumes", start);
      assertEquals(201, started.statusCode(), started.body());
      JsonNode copied = awaitPhase(registry, "COPIED", 120);
      String url = copied.path("nbdUrl").asText();
      assertEquals(200, volume.post(registry, "/volumes/vol-p/policy", "{\"policy\":\"write-back\"}").statusCode());

      // Write-back: acknowledged at the target, then the source's member dies before they ship.
      VolumeProcessClient.write(url, volume.writes(r, 20), expected);
      c.kill(source);
      source = c.start("edge-a", "edge");
      VolumeProcessClient.awaitSource(src, expected, 120, "write-back after kill -9 of the source's member");

      // The cut-over is asked, and the source's member dies under its first pass.
      VolumeProcessClient.write(url, volume.writes(r, 20), expected);
      HttpResponse<String> cut = volume.post(registry, "/volumes/vol-p/cutover", "");
      assertEquals(200, cut.statusCode(), cut.body());
      c.kill(source);
      c.start("edge-a", "edge");
      JsonNode over = awaitPhase(registry, "CUT_OVER", 180);
      assertEquals("target", over.path("changes").path("primary").asText(), over.toString());
      volume.compare(url, expected, "the target after the cut-over");

      VolumeProcessClient.write(url, volume.writes(r, 5), expected);
      long pending = volume.status(registry).orElseThrow().path("changes").path("pendingBlocks").asLong();
      assertEquals(200, volume.post(registry, "/volumes/vol-p/reverse", "").statusCode());
      JsonNode reversed = awaitPhase(registry, "REVERSED", 120);
      VolumeProcessClient.awaitSource(src, expected, 30, "the source after the reverse");
      System.out.printf("VolumeProcessIT: reverse shipped %d blocks of %d (%.3f of the volume); changes %s%n",
          pending, SIZE / BLOCK, (double) pending * BLOCK / SIZE, reversed.path("changes"));
    }
  }

  private JsonNode awaitPhase(ProcessCluster.Member m, String phase, int seconds) throws Exception {
    return volume.await(m, seconds, phase, s -> s.path("phase").asText().equals(phase) && !s.path("nbdUrl").asText().isEmpty());
  }
}
