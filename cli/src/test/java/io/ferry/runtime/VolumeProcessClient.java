package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ferry.testkit.Ext4Images;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * What the volume process ITs do to one volume: read its status and post its controls at a member's
 * management endpoint, write through its export with qemu-io (keeping the image the acknowledged
 * writes make), and read or compare the export with qemu-img.
 */
final class VolumeProcessClient {

  /** One qemu-io write: {@code length} bytes of {@code pattern} at {@code offset}. */
  record Write(long offset, int length, int pattern) {}

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final ObjectMapper json = new ObjectMapper();
  private final Path dir;
  private final String volume;
  private final int size;
  private final int block;

  /** @param dir where the expected image and reads are written */
  VolumeProcessClient(Path dir, String volume, int size, int block) {
    this.dir = dir;
    this.volume = volume;
    this.size = size;
    this.block = block;
  }

  /** The volume's status at {@code m}, empty while the member does not answer or does not know it. */
  Optional<JsonNode> status(ProcessCluster.Member m) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(m.url() + "/volumes/" + volume)).timeout(Duration.ofSeconds(15)).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? Optional.of(json.readTree(r.body())) : Optional.empty();
    } catch (Exception e) {
      return Optional.empty();
    }
  }

  /** Polls the status at {@code m} until {@code done} holds; fails with the last status after {@code seconds}. */
  JsonNode await(ProcessCluster.Member m, int seconds, String what, Predicate<JsonNode> done) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    Optional<JsonNode> st = Optional.empty();
    while (System.nanoTime() < deadline) {
      st = status(m);
      if (st.isPresent() && done.test(st.get())) {
        return st.get();
      }
      TimeUnit.MILLISECONDS.sleep(100);
    }
    throw new AssertionError(volume + " not " + what + " within " + seconds + " s: " + st);
  }

  HttpResponse<String> post(ProcessCluster.Member m, String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(m.url() + path)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** {@code n} writes, half of whole blocks and half of 512-byte runs at any sector. */
  List<Write> writes(Random r, int n) {
    List<Write> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int length = r.nextBoolean() ? block : 512 * (1 + r.nextInt(300));
      long offset = Math.min(size - length, r.nextBoolean() ? (long) r.nextInt(size / block) * block : 512L * r.nextInt((size - length) / 512));
      out.add(new Write(offset, length, 1 + r.nextInt(254)));
    }
    return out;
  }

  /** Runs the writes with qemu-io at {@code url}; every one must be acknowledged, and goes into {@code expected}. */
  static void write(String url, List<Write> writes, byte[] expected) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
    for (Write w : writes) {
      cmd.add("-c");
      cmd.add("write -P 0x" + Integer.toHexString(w.pattern()) + " " + w.offset() + " " + w.length());
    }
    cmd.add(url);
    String out = Ext4Images.run(cmd);
    for (Write w : writes) {
      assertTrue(out.contains("wrote " + w.length() + "/" + w.length() + " bytes at offset " + w.offset()), "acknowledged: " + w + "\n" + out);
      Arrays.fill(expected, (int) w.offset(), (int) w.offset() + w.length(), (byte) w.pattern());
    }
  }

  /**
   * {@code qemu-img compare} of the export at {@code url} with {@code expected}. The export closes
   * while a frontend attaches to a new source member: like a client, it connects again for up to a minute.
   */
  void compare(String url, byte[] expected, String what) throws Exception {
    Path file = dir.resolve("expected.img");
    Files.write(file, expected);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    Ext4Images.Result r = Ext4Images.exec(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", file.toString(), url), 300);
    while (r.output().contains("Requested export not available") && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(500);
      r = Ext4Images.exec(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", file.toString(), url), 300);
    }
    assertTrue(r.output().contains("Images are identical"), what + ": " + r.output());
  }

  /** The whole export at {@code url}, read with {@code qemu-img convert}. */
  byte[] read(String url) throws Exception {
    Path file = dir.resolve("read.img");
    Files.deleteIfExists(file);
    Ext4Images.run(List.of("qemu-img", "convert", "-f", "raw", "-O", "raw", url, file.toString()));
    return Files.readAllBytes(file);
  }

  /** Waits until the source image at {@code src} holds {@code expected}. */
  static void awaitSource(Path src, byte[] expected, int seconds, String what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!Arrays.equals(Files.readAllBytes(src), expected)) {
      assertTrue(System.nanoTime() < deadline, what + ": the source does not hold every acknowledged write within " + seconds + " s");
      TimeUnit.MILLISECONDS.sleep(250);
    }
  }
}
