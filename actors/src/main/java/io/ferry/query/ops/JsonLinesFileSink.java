package io.ferry.query.ops;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Appends rows as JSON lines to a file, once only. Its state is the committed length: each batch
 * first cuts the file back to it, discarding what an attempt that was never committed wrote, then
 * appends and forces the bytes to disk before the node persists the new length.
 */
public final class JsonLinesFileSink implements Operator {
  private static final JsonFactory JSON = new JsonFactory();

  private final Path path;
  private final JsonRows rows;
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 << 10);
  private FileChannel channel;
  private long committedBytes;

  public JsonLinesFileSink(String path, Schema input) {
    this.path = Path.of(path);
    this.rows = new JsonRows(input);
  }

  @Override
  public Step process(List<Row> input) {
    if (input.isEmpty()) {
      return Step.EMPTY;
    }
    bytes.reset();
    try (JsonGenerator g = JSON.createGenerator(bytes)) {
      g.setRootValueSeparator(null);
      for (Row r : input) {
        rows.write(g, r);
        g.flush();
        bytes.write('\n');
      }
    } catch (IOException e) {
      throw new UncheckedIOException(path + ": encoding rows failed", e);
    }
    FileChannel ch = channel();
    try {
      cutBackToCommitted(ch);
      ByteBuffer buf = ByteBuffer.wrap(bytes.toByteArray());
      long position = committedBytes;
      while (buf.hasRemaining()) {
        position += ch.write(buf, position);
      }
      ch.force(false);
      return new Step(List.of(), new FileSinkDelta(position));
    } catch (IOException e) {
      throw new UncheckedIOException(path + " at byte " + committedBytes + ": writing failed", e);
    }
  }

  @Override
  public void apply(OperatorDelta delta) {
    if (delta == null) {
      return;
    }
    if (!(delta instanceof FileSinkDelta d)) {
      throw new IllegalArgumentException("json-lines sink: cannot apply " + delta.getClass().getSimpleName());
    }
    committedBytes = d.lengthBytes();
  }

  @Override
  public FileSinkDelta snapshot() {
    return new FileSinkDelta(committedBytes);
  }

  @Override
  public void restore(OperatorState state) {
    if (state == null) {
      committedBytes = 0;
    } else if (state instanceof FileSinkDelta d) {
      committedBytes = d.lengthBytes();
    } else {
      throw new IllegalArgumentException("json-lines sink: cannot restore " + state.getClass().getSimpleName());
    }
  }

  /**
   * Cuts off what a batch that never committed wrote; true if there was something to cut. A file
   * shorter than its committed length lost data outside Ferry: that is an error, never papered over.
   */
  private boolean cutBackToCommitted(FileChannel ch) throws IOException {
    long size = ch.size();
    if (size < committedBytes) {
      throw shorter(size);
    }
    if (size > committedBytes) {
      ch.truncate(committedBytes);
      return true;
    }
    return false;
  }

  /** Cuts off what a batch that never committed wrote; a file shorter than committed is an error. */
  @Override
  public void recovered() {
    FileChannel ch = channel();
    try {
      if (cutBackToCommitted(ch)) {
        ch.force(false);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(path + ": truncating to " + committedBytes + " bytes failed", e);
    }
  }

  @Override
  public void close() {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException e) {
        throw new UncheckedIOException(path + ": closing failed", e);
      } finally {
        channel = null;
      }
    }
  }

  /** The committed length, in bytes. */
  public long committedBytes() {
    return committedBytes;
  }

  private IllegalStateException shorter(long size) {
    return new IllegalStateException(
        path + " has " + size + " bytes, so it is shorter than its committed length of " + committedBytes
            + " bytes: data was removed outside Ferry");
  }

  private FileChannel channel() {
    if (channel == null) {
      try {
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
      } catch (IOException e) {
        throw new UncheckedIOException(path + ": cannot open the sink file", e);
      }
    }
    return channel;
  }
}
