package io.ferry.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Real volume images for the block benchmark and tests: ext4 file systems built with {@code
 * mkfs.ext4 -d} from files written here (text that compresses, random bytes that do not; the rest
 * of the image left empty), and a runner for the real NBD clients that read them (qemu-img,
 * nbdinfo, nbdcopy, qemu-io from Debian's qemu-utils and libnbd-bin).
 */
public final class Ext4Images {
  private Ext4Images() {}

  static final String UUID = "8f5f1b3e-6a57-4c1e-9d3c-2b9f0e4a7c11";

  /** Writes a template tree of files into {@code dir}: ~{@code dataBytes} in all. */
  public static void template(Path dir, long seed, long dataBytes) throws IOException {
    Random r = new Random(seed);
    Files.createDirectories(dir.resolve("etc"));
    Files.createDirectories(dir.resolve("var/lib"));
    long written = 0;
    int i = 0;
    while (written < dataBytes) {
      int size = 64 * 1024 + r.nextInt(1024 * 1024);
      byte[] data = new byte[size];
      if (i % 2 == 0) {
        r.nextBytes(data);
        Files.write(dir.resolve("var/lib/blob-" + i + ".bin"), data);
      } else {
        StringBuilder sb = new StringBuilder(size);
        while (sb.length() < size) {
          sb.append("line ").append(r.nextInt(1000)).append(" of a config file that compresses well ").append(i).append('\n');
        }
        Files.writeString(dir.resolve("etc/conf-" + i + ".txt"), sb.substring(0, size), StandardCharsets.UTF_8);
      }
      written += size;
      i++;
    }
  }

  /**
   * Changes a few files of a template tree in place, keeping their sizes (the "second image from
   * the same template": same layout, a few files' blocks differ).
   */
  public static void changeAFew(Path dir, long seed) throws IOException {
    Random r = new Random(seed);
    int changed = 0;
    try (var files = Files.list(dir.resolve("var/lib"))) {
      for (Path f : files.sorted().limit(2).toList()) {
        byte[] data = new byte[(int) Files.size(f)];
        r.nextBytes(data);
        Files.write(f, data);
        changed++;
      }
    }
    if (changed == 0) {
      throw new IllegalStateException("no files to change under " + dir);
    }
  }

  /** Builds an ext4 image of {@code sizeMiB} from {@code tree}, with a fixed UUID and hash seed. */
  public static Path ext4(Path tree, Path image, int sizeMiB) throws IOException, InterruptedException {
    run(List.of("mkfs.ext4", "-q", "-F", "-U", UUID, "-E", "hash_seed=" + UUID + ",lazy_itable_init=0", "-d", tree.toString(), image.toString(), sizeMiB + "M"));
    return image;
  }

  /** Runs a command; returns its output; fails with the output when it exits non-zero. */
  public static String run(List<String> cmd) throws IOException, InterruptedException {
    Result r = exec(cmd, 300);
    if (r.exit() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " exited " + r.exit() + ":\n" + r.output());
    }
    return r.output();
  }

  public record Result(int exit, String output) {}

  /** Runs a command and returns its exit code and output, whatever the exit code. */
  public static Result exec(List<String> cmd, int timeoutSeconds) throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder(new ArrayList<>(cmd)).redirectErrorStream(true).start();
    } catch (IOException e) {
      // The one thing this class needs from the machine: say which package brings the tool.
      throw new IOException(cmd.get(0) + " could not be started (" + e.getMessage() + "): mkfs.ext4 comes with e2fsprogs, "
          + "qemu-img and qemu-io with qemu-utils, nbdinfo and nbdcopy with libnbd-bin", e);
    }
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", cmd) + " did not finish within " + timeoutSeconds + " s");
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }
}
