package io.ferry.query.ops;

import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Tails a file of JSON objects, one per line; the anchor is the byte offset of the next unread
 * line. The file is treated as append-only and growing, so it never ends: only lines ending in
 * {@code '\n'} are read, and a last line still being written waits for its newline. Blank lines are
 * skipped; a trailing {@code '\r'} (CRLF files) is ignored.
 */
public final class JsonLinesReader implements SourceReader {
  /** Bounds one read's buffer, and so the longest line this reader accepts. */
  public static final long READ_BYTES_MAX_DEFAULT = 4L << 20;

  private static final int READ_BYTES_FIRST = 64 << 10;
  /** Trailing tokens fail, so that two objects on one line are an error rather than half a row. */

  private final Path path;
  private final JsonRows rows;
  private final int readBytesMax;
  private FileChannel channel;
  private ByteBuffer buffer;

  public JsonLinesReader(String path, Schema schema) {
    this(path, schema, READ_BYTES_MAX_DEFAULT);
  }

  public JsonLinesReader(String path, Schema schema, long readBytesMax) {
    if (readBytesMax < 2 || readBytesMax > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("json-lines: readBytesMax must be between 2 and 2 GiB, got " + readBytesMax);
    }
    this.path = Path.of(path);
    this.rows = new JsonRows(schema);
    this.readBytesMax = (int) readBytesMax;
  }

  @Override
  public Read read(long anchor, int max) {
    if (anchor < 0 || max < 0) {
      throw new IllegalArgumentException(path + ": anchor and max must be >= 0, got " + anchor + ", " + max);
    }
    long size = size();
    if (anchor > size) {
      throw new IllegalStateException(
          path + ": anchor " + anchor + " is past the end of the file (" + size
              + " bytes): it was truncated or replaced, but it must only grow");
    }
    List<Row> rows = new ArrayList<>(Math.min(max, 1024));
    long next = anchor;
    while (rows.size() < max && next < size) {
      int filled = fill(next, size);
      int lineStart = 0;
      boolean foundLine = false;
      for (int i = 0; i < filled && rows.size() < max; i++) {
        if (buffer.get(i) == '\n') {
          foundLine = true;
          int end = i > lineStart && buffer.get(i - 1) == '\r' ? i - 1 : i;
          if (!blank(lineStart, end)) {
            rows.add(parse(lineStart, end, next + lineStart));
          }
          lineStart = i + 1;
        }
      }
      next += lineStart;
      if (!foundLine) {
        if (filled < buffer.capacity()) {
          break; // the last line has no newline yet: it is still being written
        }
        if (buffer.capacity() >= readBytesMax) {
          throw new IllegalStateException(
              path + " at byte " + next + ": line is longer than the " + readBytesMax + "-byte read limit");
        }
        buffer = ByteBuffer.allocate((int) Math.min((long) buffer.capacity() * 2, readBytesMax));
      }
    }
    return new Read(rows, next, false);
  }

  @Override
  public void close() {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException e) {
        throw new UncheckedIOException(path + ": closing failed", e);
      }
      channel = null;
    }
  }

  private long size() {
    try {
      if (channel == null) {
        channel = FileChannel.open(path, StandardOpenOption.READ);
        buffer = ByteBuffer.allocate(Math.min(READ_BYTES_FIRST, readBytesMax));
      }
      return channel.size();
    } catch (NoSuchFileException e) {
      throw new IllegalStateException(path + ": the source file does not exist", e);
    } catch (IOException e) {
      throw new UncheckedIOException(path + ": cannot read the source file", e);
    }
  }

  /** Reads from {@code position} into the buffer; returns how many bytes it holds. */
  private int fill(long position, long size) {
    buffer.clear();
    buffer.limit((int) Math.min(buffer.capacity(), size - position));
    try {
      while (buffer.hasRemaining()) {
        int n = channel.read(buffer, position + buffer.position());
        if (n < 0) {
          break;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(path + " at byte " + position + ": read failed", e);
    }
    return buffer.position();
  }

  private boolean blank(int from, int to) {
    for (int i = from; i < to; i++) {
      byte b = buffer.get(i);
      if (b != ' ' && b != '\t') {
        return false;
      }
    }
    return true;
  }

  private Row parse(int from, int to, long offset) {
    try {
      return rows.decode(buffer.array(), from, to - from);
    } catch (JsonRows.BadRow e) {
      throw new IllegalArgumentException(path + " at byte " + offset + ": " + e.getMessage(), e);
    }
  }
}
