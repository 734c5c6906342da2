package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Ferry;
import io.ferry.api.VolumeStatus;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import io.ferry.transport.nbd.NbdClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A volume migrates over a sealed block channel (ferry.security.blocks.encrypt = on) whose link
 * changes a byte in some data datagrams (ferry.blocks.emulate.corrupt): every tampered frame is
 * refused as not authentic and counted, its block is fetched again, and the target volume read
 * back over NBD equals the source byte for byte.
 */
@ExtendWith(SeedExtension.class)
class SealedBlockChannelIT {

  private static final int BLOCK = 64 * 1024;
  private static final Pattern AUTH = Pattern.compile("(?m)^ferry_block_rejected_frames_total\\{reason=\"auth\"} (\\S+)$");

  @TempDir Path dir;

  @Test
  void tamperedFramesAreRefusedAndFetchedAgainAndTheVolumeEqualsTheSource(Seed testSeed) throws Exception {
    Random random = new Random(testSeed.value());
    byte[] bytes = new byte[4 * 1024 * 1024];
    random.nextBytes(bytes);
    // A few zero blocks: sent as ZERO frames, sealed too.
    Arrays.fill(bytes, 5 * BLOCK, 7 * BLOCK, (byte) 0);
    Path image = dir.resolve("vol.img");
    Files.write(image, bytes);
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    // About one datagram in 300 changed: a 64 KiB frame is ~47 datagrams, so ~15 % of first sends are tampered.
    var config =
        ConfigFactory.parseString(
            "ferry.security.blocks.encrypt = on\nferry.security.allow-insecure = on\nferry.blocks.emulate.corrupt = 0.0033\n");
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, config, Duration.ofSeconds(60))) {
      Ferry ferry = cluster.member("cloud").ferry();
      ferry.startVolume(new VolumeSpec(new VolumeId("sealed"), "edge-a", image.toString(), "cloud", BLOCK, "")).toCompletableFuture().get(30, TimeUnit.SECONDS);
      VolumeStatus st = awaitComplete(ferry, "sealed");
      URI nbd = URI.create(st.nbdUrl());
      try (NbdClient client = NbdClient.connect(nbd.getHost(), nbd.getPort(), "sealed", Duration.ofSeconds(30))) {
        for (int offset = 0; offset < bytes.length; offset += BLOCK) {
          assertArrayEquals(Arrays.copyOfRange(bytes, offset, offset + BLOCK), client.read(offset, BLOCK), "block at " + offset);
        }
      }
      VolumeStatus.Frontend f = st.frontend().orElseThrow();
      assertTrue(f.corruptFrames() > 0, "no tampered frame reached the frontend: " + f);
      HttpResponse<String> scrape =
          HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(cluster.httpUrl("cloud") + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
      Matcher m = AUTH.matcher(scrape.body());
      assertTrue(m.find(), "no ferry_block_rejected_frames_total{reason=\"auth\"} series");
      double refused = Double.parseDouble(m.group(1));
      assertTrue(refused > 0, "the receiver counted no frame that failed authentication");
      assertEquals((double) f.corruptFrames(), refused, "every corrupt frame the frontend saw failed authentication (GCM, not a CRC)");
      ferry.stopVolume(new VolumeId("sealed")).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static VolumeStatus awaitComplete(Ferry ferry, String volume) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (true) {
      VolumeStatus st = ferry.volumeStatus(new VolumeId(volume)).toCompletableFuture().get(20, TimeUnit.SECONDS);
      if (st.frontend().isPresent() && st.frontend().get().complete() && !st.nbdUrl().isEmpty()) {
        return st;
      }
      assertTrue(System.nanoTime() < deadline, "volume " + volume + " was not complete within 120 s: " + st);
      TimeUnit.MILLISECONDS.sleep(50);
    }
  }
}
