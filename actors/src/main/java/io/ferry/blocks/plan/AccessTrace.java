package io.ferry.blocks.plan;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A recorded access trace: the block indexes a workload read, in order, during e.g. a boot. Loaded by the backend so
 * that {@link TracePredictor} can prefetch what comes next when it sees the trace's start being read again.
 *
 * <p>File format: UTF-8 text, one block index per line; blank lines and everything after a {@code #} are ignored.
 */
public final class AccessTrace {
  /** Most entries a trace may have; a boot reads far fewer blocks, and positions must fit in 20 bits. */
  public static final int LENGTH_MAX = 1 << 20;
  /** Block indexes must be below this; the same bound as {@link Geometry#BLOCK_COUNT_MAX}. */
  public static final long BLOCK_LIMIT = Geometry.BLOCK_COUNT_MAX;

  private final long[] blocks;

  private AccessTrace(long[] blocks) {
    this.blocks = blocks;
  }

  public static AccessTrace of(long... blocks) {
    if (blocks.length > LENGTH_MAX) {
      throw new IllegalArgumentException("access trace has " + blocks.length + " entries, more than " + LENGTH_MAX);
    }
    for (int i = 0; i < blocks.length; i++) {
      if (blocks[i] < 0 || blocks[i] >= BLOCK_LIMIT) {
        throw new IllegalArgumentException(
            "access trace entry " + i + " must be a block index between 0 and " + (BLOCK_LIMIT - 1) + ", got " + blocks[i]);
      }
    }
    return new AccessTrace(blocks.clone());
  }

  /** Reads a trace file; a malformed line fails with {@code file:line: reason}. */
  public static AccessTrace load(Path file) throws IOException {
    long[] out = new long[1024];
    int n = 0;
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      int lineNo = 0;
      while ((line = in.readLine()) != null) {
        lineNo++;
        int hash = line.indexOf('#');
        String text = (hash >= 0 ? line.substring(0, hash) : line).strip();
        if (text.isEmpty()) {
          continue;
        }
        long block;
        try {
          block = Long.parseLong(text);
        } catch (NumberFormatException e) {
          throw new IOException(file + ":" + lineNo + ": not a block index: '" + text + "'");
        }
        if (block < 0 || block >= BLOCK_LIMIT) {
          throw new IOException(
              file + ":" + lineNo + ": block index must be between 0 and " + (BLOCK_LIMIT - 1) + ", got " + block);
        }
        if (n == LENGTH_MAX) {
          throw new IOException(file + ":" + lineNo + ": access trace has more than " + LENGTH_MAX + " entries");
        }
        if (n == out.length) {
          out = Arrays.copyOf(out, Math.min(out.length * 2, LENGTH_MAX));
        }
        out[n++] = block;
      }
    }
    return new AccessTrace(Arrays.copyOf(out, n));
  }

  public void save(Path file) throws IOException {
    try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      w.write("# ferry access trace: one block index per line, in the order they were read\n");
      for (long b : blocks) {
        w.write(Long.toString(b));
        w.write('\n');
      }
    }
  }

  public int length() {
    return blocks.length;
  }

  public long at(int i) {
    return blocks[i];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AccessTrace t && Arrays.equals(blocks, t.blocks);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(blocks);
  }

  @Override
  public String toString() {
    return "AccessTrace[" + blocks.length + " entries]";
  }
}
