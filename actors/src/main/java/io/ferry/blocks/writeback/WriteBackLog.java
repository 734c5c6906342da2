package io.ferry.blocks.writeback;

import io.ferry.blocks.writeback.WriteBackAggregator.Batch;
import io.ferry.blocks.writeback.WriteBackAggregator.BlockVersion;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * What the target must remember of write-back across a crash: each acknowledged write's (block,
 * sequence), and each batch the source confirmed. Append-only records of 21 bytes with a CRC32C;
 * a torn tail is dropped on open (a record is written before its write is acknowledged, so a torn
 * record belongs to a write never acknowledged).
 *
 * <p>Why a confirmation is one number: sealing takes the whole open batch, so once the source
 * confirms batch n it holds every write acknowledged before n was sealed, in its newest version;
 * the record keeps the highest sequence batch n carried (the watermark). After a restart, the
 * pending versions are each block's newest sequence above the watermark.
 */
public final class WriteBackLog implements AutoCloseable {

  private static final byte ACK = 1;
  private static final byte CONFIRMED = 2;
  /** Written by {@link #compact}: the highest sequence ever acknowledged, which the dropped records held. */
  private static final byte HIGHEST = 3;
  private static final int RECORD = 4 + 1 + 8 + 8;

  /** What a reopened log holds. */
  public record Recovered(List<BlockVersion> pending, long lastSequence, long lastConfirmedBatch, long droppedBytes) {
    public Recovered {
      pending = List.copyOf(pending);
    }
  }

  private final Path path;
  private FileChannel channel;
  private long size;
  /** The highest sequence this log has recorded (read back on open), so a compaction never forgets it. */
  private long highest;
  private final ByteBuffer buffer = ByteBuffer.allocate(RECORD);
  private final CRC32C crc = new CRC32C();

  private WriteBackLog(Path path, FileChannel channel, long size, long highest) {
    this.path = path;
    this.channel = channel;
    this.size = size;
    this.highest = highest;
  }

  /** Opens (or creates) the log at {@code path}, dropping a torn tail; returns it with what it holds. */
  public static Map.Entry<WriteBackLog, Recovered> open(Path path) throws IOException {
    Files.deleteIfExists(compactPath(path)); // a rewrite that crashed before its rename
    FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    long fileSize = ch.size();
    Map<Long, Long> newest = new HashMap<>();
    long watermark = 0;
    long lastBatch = 0;
    long lastSeq = 0;
    long pos = 0;
    ByteBuffer b = ByteBuffer.allocate(RECORD);
    CRC32C crc = new CRC32C();
    while (fileSize - pos >= RECORD) {
      b.clear();
      while (b.hasRemaining()) {
        if (ch.read(b, pos + b.position()) < 0) {
          break;
        }
      }
      crc.reset();
      crc.update(b.array(), 4, RECORD - 4);
      byte type = b.get(4);
      if ((int) crc.getValue() != b.getInt(0) || (type != ACK && type != CONFIRMED && type != HIGHEST)) {
        break;
      }
      long x = b.getLong(5);
      long y = b.getLong(13);
      if (type == ACK) {
        newest.merge(x, y, Math::max);
        lastSeq = Math.max(lastSeq, y);
      } else if (type == CONFIRMED) {
        lastBatch = Math.max(lastBatch, x);
        watermark = Math.max(watermark, y);
      } else {
        lastSeq = Math.max(lastSeq, x);
      }
      pos += RECORD;
    }
    long dropped = fileSize - pos;
    if (dropped > 0) {
      ch.truncate(pos);
    }
    // A sequence is never given twice: the source refuses a version older than the one it holds, so a
    // reused sequence would drop an acknowledged write. Confirmed writes leave the log at compaction;
    // the watermark and the HIGHEST record keep their sequences.
    lastSeq = Math.max(lastSeq, watermark);
    long w = watermark;
    List<BlockVersion> pending = new ArrayList<>();
    newest.forEach((block, seq) -> {
      if (seq > w) {
        pending.add(new BlockVersion(block, seq));
      }
    });
    pending.sort(java.util.Comparator.comparingLong(BlockVersion::sequence));
    return Map.entry(new WriteBackLog(path, ch, pos, lastSeq), new Recovered(pending, lastSeq, lastBatch, dropped));
  }

  /** Records an acknowledged write; call before acknowledging it. */
  public void acknowledged(long block, long sequence) throws IOException {
    append(ACK, block, sequence);
    highest = Math.max(highest, sequence);
  }

  /** Records that the source applied {@code batch} durably. */
  public void confirmed(Batch batch) throws IOException {
    long watermark = batch.blocks().stream().mapToLong(BlockVersion::sequence).max().orElseThrow();
    append(CONFIRMED, batch.number(), watermark);
  }

  /** Forces the log to stable storage (with the store, on NBD FLUSH). */
  public void sync() throws IOException {
    channel.force(false);
  }

  public long sizeBytes() {
    return size;
  }

  /**
   * Rewrites the log as {@code pending}, one confirmation (the last batch and watermark) and the
   * highest sequence it has recorded, via a forced file renamed into place, so a crash leaves the old
   * log or the new one.
   */
  public void compact(List<BlockVersion> pending, long lastConfirmedBatch, long watermark) throws IOException {
    Path tmp = compactPath(path);
    long pos = 0;
    try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      if (lastConfirmedBatch > 0) {
        pos += write(out, pos, CONFIRMED, lastConfirmedBatch, watermark);
      }
      if (highest > 0) {
        pos += write(out, pos, HIGHEST, highest, 0);
      }
      for (BlockVersion v : pending) {
        pos += write(out, pos, ACK, v.block(), v.sequence());
      }
      out.force(false);
    }
    Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    // Else a power loss may bring the old log back while later acknowledgements went to the new one.
    io.ferry.blocks.FileDurability.forceDirectory(path.toAbsolutePath().getParent());
    channel.close();
    channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    size = pos;
  }

  private void append(byte type, long x, long y) throws IOException {
    size += write(channel, size, type, x, y);
  }

  private int write(FileChannel ch, long position, byte type, long x, long y) throws IOException {
    buffer.clear();
    buffer.putInt(0).put(type).putLong(x).putLong(y);
    crc.reset();
    crc.update(buffer.array(), 4, RECORD - 4);
    buffer.putInt(0, (int) crc.getValue());
    buffer.flip();
    long p = position;
    while (buffer.hasRemaining()) {
      p += ch.write(buffer, p);
    }
    return RECORD;
  }

  private static Path compactPath(Path path) {
    return path.resolveSibling(path.getFileName() + ".compact");
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
