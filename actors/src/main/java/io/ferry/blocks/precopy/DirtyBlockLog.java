package io.ferry.blocks.precopy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.zip.CRC32C;

/**
 * The source's change set ({@link DirtyBlocks}) kept on disk next to the source image, so a
 * restarted source member recopies only the blocks that may differ at the target instead of the
 * whole volume. {@link PreCopySource} calls {@link #beginWrite} before a write's bytes go into the
 * image and {@link #endWrite} once it is acknowledged; {@link PreCopyMigration} calls {@link #cut}
 * before the target's flush after a pass and {@link #forget} after it.
 *
 * <p>Why a write-intent log (as md's write-intent bitmap and DRBD's activity log) rather than a
 * record per write forced with the client's FLUSH: the kernel may write the image's page back at
 * any time, so a mark forced only at FLUSH could reach the disk after the bytes it covers; a power
 * loss between the two would leave changed bytes no mark remembers, and a later FLUSH would promise
 * them durable while the target lacks them. So a block's mark is forced <em>before</em> its bytes
 * are written. That costs an fsync only for the first write to a block since its last shipment
 * (concurrent writers share one fsync); a hot block rewritten a thousand times costs nothing more.
 * A torn tail can therefore only be the record of a write whose bytes were never written (its
 * fsync had not returned), and is dropped; anything else unreadable means a full recopy.
 *
 * <p>Format, version 1, big-endian. Header (32 bytes): magic {@code "FDBL"}, version byte, three
 * zero bytes, block size (int), block count (long), salt (long, new at every rewrite), CRC32C of
 * the 28 bytes before it. Record (16 bytes): first block (long), blocks (int), CRC32C of the salt
 * and the 12 bytes before it (so a record left from an older rewrite never reads as current).
 * Records only add marks; marks are dropped by rewriting the file (temporary file forced, renamed
 * into place, directory forced), so a crash leaves the old log or the new one.
 */
public final class DirtyBlockLog implements AutoCloseable {

  static final int MAGIC = 0x4644424C; // "FDBL"
  static final byte VERSION = 1;
  static final int HEADER_BYTES = 32;
  static final int RECORD_BYTES = 16;

  /**
   * The most blocks a log can mark: block numbers index a {@link BitSet} (as in {@link
   * DirtyBlocks}), so they must fit an {@code int}. At 4 KiB blocks that is a volume of 8 TiB.
   */
  public static final long MAX_BLOCKS = Integer.MAX_VALUE;

  /** Refuses a volume of more blocks than a log can mark, naming what would fit. */
  static void requireSupported(long blockCount, int blockSize) {
    if (blockCount > MAX_BLOCKS) {
      throw new IllegalArgumentException(
          "a volume of " + blockCount + " blocks of " + blockSize + " bytes is larger than the change log supports ("
              + MAX_BLOCKS + " blocks at most): use blocks of at least " + Math.max(blockSize, minBlockSize(blockCount * (long) blockSize)) + " bytes");
    }
  }

  /** The smallest power-of-two block size that keeps {@code sizeBytes} within {@link #MAX_BLOCKS}. */
  private static long minBlockSize(long sizeBytes) {
    long size = 512;
    while ((sizeBytes + size - 1) / size > MAX_BLOCKS) {
      size <<= 1;
    }
    return size;
  }

  /**
   * What the log held when the source member started again.
   *
   * @param readable the marks are known; if not, every block is marked (a full recopy) and {@code reason} says why
   * @param blocksMarked blocks the log marked (all of them when unreadable)
   * @param records records read
   * @param tornBytes bytes of a torn last record dropped (a write that was never written nor acknowledged)
   */
  public record Recovery(boolean readable, long blocksMarked, long records, long tornBytes, String reason) {}

  /** A write under way: its blocks' marks stay on disk until it ends. */
  public static final class Pending {
    private final long first;
    private final long last;

    private Pending(long first, long last) {
      this.first = first;
      this.last = last;
    }
  }

  /** The marks a target flush may let go of, taken before the flush. */
  public static final class Cut {
    private final BitSet blocks;

    private Cut(BitSet blocks) {
      this.blocks = blocks;
    }
  }

  private final Path path;
  private final int blockSize;
  private final long blockCount;
  private final Recovery recovery;
  private final Object syncLock = new Object();

  // Guarded by `this`.
  private FileChannel channel;
  private long salt;
  private long fileBytes;
  /** Bytes appended since the log opened, over every rewrite: what a sync covers. */
  private long appendedTotal;
  /** Blocks whose mark is on disk (forced, or appended and about to be). */
  private final BitSet logged = new BitSet();
  /** Blocks a write began on since the last {@link #cut}: a flush taken before may not cover them. */
  private final BitSet touched = new BitSet();
  private final List<Pending> pending = new ArrayList<>();
  /** Why the log can no longer be written ("" while it can): writes are refused, not acknowledged untracked. */
  private String broken = "";

  // Guarded by syncLock.
  private long syncedTotal;

  private final ByteBuffer record = ByteBuffer.allocate(RECORD_BYTES);
  private final CRC32C crc = new CRC32C();

  private DirtyBlockLog(Path path, int blockSize, long blockCount, Recovery recovery) {
    this.path = path;
    this.blockSize = blockSize;
    this.blockCount = blockCount;
    this.recovery = recovery;
  }

  /**
   * Opens the log of a source of {@code blockCount} blocks of {@code blockSize} bytes at {@code path}.
   * A first start ({@code restart} false) begins an empty log (the change set starts empty). A
   * restart reads the log into {@code dirty} (every block when it cannot be read) and rewrites it
   * as exactly those marks.
   */
  public static DirtyBlockLog open(Path path, int blockSize, DirtyBlocks dirty, boolean restart) throws IOException {
    long blockCount = dirty.blockCount();
    requireSupported(blockCount, blockSize);
    Files.deleteIfExists(rewritePath(path)); // a rewrite that crashed before its rename
    BitSet marks = new BitSet();
    Recovery recovery;
    if (!restart) {
      recovery = new Recovery(true, 0, 0, 0, "first start: the change set starts empty");
    } else {
      Recovery read = read(path, blockSize, blockCount, marks);
      if (!read.readable()) {
        marks.set(0, (int) blockCount);
        read = new Recovery(false, blockCount, 0, 0, read.reason());
      }
      recovery = read;
    }
    for (int b = marks.nextSetBit(0); b >= 0; ) {
      int end = marks.nextClearBit(b);
      dirty.restore(b, end - 1L);
      b = end < blockCount ? marks.nextSetBit(end) : -1;
    }
    DirtyBlockLog log = new DirtyBlockLog(path, blockSize, blockCount, recovery);
    synchronized (log.syncLock) {
      synchronized (log) {
        log.logged.or(marks);
        log.rewrite();
      }
    }
    return log;
  }

  /** What the last start read. */
  public Recovery recovery() {
    return recovery;
  }

  public Path path() {
    return path;
  }

  /**
   * A write of blocks {@code first..last} is about to go into the image: returns once their marks
   * are on disk (at once if they are already). Thread-safe; concurrent first writes share a sync.
   *
   * @throws IOException the log cannot be written: the write must not be acknowledged
   */
  public Pending beginWrite(long first, long last) throws IOException {
    if (first < 0 || last < first || last >= blockCount) {
      throw new IllegalArgumentException("blocks " + first + ".." + last + " outside 0.." + (blockCount - 1));
    }
    Pending p = new Pending(first, last);
    long until;
    synchronized (this) {
      if (!broken.isEmpty()) {
        throw new IOException(broken);
      }
      pending.add(p);
      touched.set((int) first, (int) last + 1);
      int clear = logged.nextClearBit((int) first);
      if (clear <= last) {
        try {
          append(first, (int) (last - first + 1));
        } catch (IOException e) {
          pending.remove(p);
          broken = "the change log " + path + " cannot be written: " + e.getMessage();
          throw new IOException(broken, e);
        }
        logged.set((int) first, (int) last + 1);
      }
      // Also when every block was marked already: another writer may have appended the mark and
      // not yet forced it, and this write's bytes must not reach the image before the mark is on
      // disk. syncTo returns at once when the marks are forced already.
      until = appendedTotal;
    }
    try {
      syncTo(until);
    } catch (IOException e) {
      endWrite(p);
      synchronized (this) {
        broken = "the change log " + path + " cannot be forced: " + e.getMessage();
      }
      throw new IOException(brokenReason(), e);
    }
    return p;
  }

  /** The write ended (acknowledged, or failed): its blocks' marks may go once a pass ships them. */
  public synchronized void endWrite(Pending p) {
    for (int i = 0; i < pending.size(); i++) {
      if (pending.get(i) == p) {
        pending.remove(i);
        return;
      }
    }
    throw new IllegalStateException("write of blocks " + p.first + ".." + p.last + " ended twice or never began");
  }

  /**
   * Before the target's flush after a pass: the marks that flush may let go of, those of blocks
   * the change set no longer holds (shipped) and no write holds.
   */
  public synchronized Cut cut(DirtyBlocks dirty) {
    touched.clear();
    BitSet c = (BitSet) logged.clone();
    c.andNot(dirty.bits());
    for (Pending p : pending) {
      c.clear((int) p.first, (int) p.last + 1);
    }
    return new Cut(c);
  }

  /**
   * After the target's flush: drops the marks of {@code cut} that no write touched meanwhile and
   * the change set did not take back, by rewriting the log.
   */
  public void forget(Cut cut, DirtyBlocks dirty) throws IOException {
    synchronized (syncLock) {
      synchronized (this) {
        BitSet c = (BitSet) cut.blocks.clone();
        c.andNot(touched);
        c.andNot(dirty.bits());
        for (Pending p : pending) {
          c.clear((int) p.first, (int) p.last + 1);
        }
        if (c.isEmpty() || !broken.isEmpty()) {
          return;
        }
        logged.andNot(c);
        try {
          rewrite();
        } catch (IOException e) {
          broken = "the change log " + path + " cannot be rewritten: " + e.getMessage();
          throw new IOException(broken, e);
        }
      }
    }
  }

  /** Blocks marked on disk now. */
  public synchronized long loggedBlocks() {
    return logged.cardinality();
  }

  /** Bytes of the log file now. */
  public synchronized long sizeBytes() {
    return fileBytes;
  }

  private synchronized String brokenReason() {
    return broken;
  }

  private void syncTo(long until) throws IOException {
    synchronized (syncLock) {
      if (syncedTotal >= until) {
        return; // another writer's sync covered this record
      }
      long end;
      FileChannel ch;
      synchronized (this) {
        end = appendedTotal;
        ch = channel;
      }
      ch.force(false);
      syncedTotal = end;
    }
  }

  // Guarded by `this`.
  private void append(long first, int blocks) throws IOException {
    fillRecord(record, salt, first, blocks, crc);
    long p = fileBytes;
    while (record.hasRemaining()) {
      p += channel.write(record, p);
    }
    fileBytes += RECORD_BYTES;
    appendedTotal += RECORD_BYTES;
  }

  /** Writes {@link #logged} as a new log file in place of the old one (both locks held). */
  private void rewrite() throws IOException {
    long newSalt = ThreadLocalRandom.current().nextLong();
    Path tmp = rewritePath(path);
    ByteBuffer buf = ByteBuffer.allocate(RECORD_BYTES);
    CRC32C c = new CRC32C();
    long pos = 0;
    try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteBuffer header = header(blockSize, blockCount, newSalt);
      while (header.hasRemaining()) {
        pos += out.write(header, pos);
      }
      for (int b = logged.nextSetBit(0); b >= 0; ) {
        int end = logged.nextClearBit(b);
        fillRecord(buf, newSalt, b, end - b, c);
        while (buf.hasRemaining()) {
          pos += out.write(buf, pos);
        }
        b = end < blockCount ? logged.nextSetBit(end) : -1;
      }
      out.force(false);
    }
    Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    io.ferry.blocks.FileDurability.forceDirectory(path.toAbsolutePath().getParent()); // the rename itself must survive a power loss
    if (channel != null) {
      channel.close();
    }
    channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    salt = newSalt;
    fileBytes = pos;
    syncedTotal = appendedTotal; // everything appended before is in the forced file (caller holds syncLock)
  }


  static ByteBuffer header(int blockSize, long blockCount, long salt) {
    ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES);
    h.putInt(MAGIC).put(VERSION).put((byte) 0).put((byte) 0).put((byte) 0).putInt(blockSize).putLong(blockCount).putLong(salt);
    CRC32C c = new CRC32C();
    c.update(h.array(), 0, HEADER_BYTES - 4);
    h.putInt((int) c.getValue());
    h.flip();
    return h;
  }

  private static void fillRecord(ByteBuffer buf, long salt, long first, int blocks, CRC32C c) {
    buf.clear();
    buf.putLong(first).putInt(blocks);
    buf.putInt(recordCrc(c, salt, buf.array()));
    buf.flip();
  }

  private static int recordCrc(CRC32C c, long salt, byte[] record) {
    c.reset();
    c.update(ByteBuffer.allocate(8).putLong(0, salt).array());
    c.update(record, 0, RECORD_BYTES - 4);
    return (int) c.getValue();
  }

  /**
   * Reads the log at {@code path} into {@code into}. Readable: a valid header for this volume's
   * geometry, records up to the end, or up to a torn tail no valid record follows.
   */
  static Recovery read(Path path, int blockSize, long blockCount, BitSet into) {
    requireSupported(blockCount, blockSize);
    byte[] bytes;
    try {
      if (!Files.exists(path)) {
        return unreadable("the change log " + path + " is missing");
      }
      bytes = Files.readAllBytes(path);
    } catch (IOException | RuntimeException e) {
      return unreadable("the change log " + path + " cannot be read: " + e.getMessage());
    }
    if (bytes.length < HEADER_BYTES) {
      return unreadable("the change log " + path + " has no whole header (" + bytes.length + " bytes)");
    }
    ByteBuffer h = ByteBuffer.wrap(bytes, 0, HEADER_BYTES);
    CRC32C c = new CRC32C();
    c.update(bytes, 0, HEADER_BYTES - 4);
    if (h.getInt(0) != MAGIC || (int) c.getValue() != h.getInt(HEADER_BYTES - 4)) {
      return unreadable("the change log " + path + " has a damaged header");
    }
    if (h.get(4) != VERSION) {
      return unreadable("the change log " + path + " is of version " + h.get(4) + ", not " + VERSION);
    }
    if (h.getInt(8) != blockSize || h.getLong(12) != blockCount) {
      return unreadable("the change log " + path + " is for " + h.getLong(12) + " blocks of " + h.getInt(8) + " bytes, not " + blockCount + " of " + blockSize);
    }
    long salt = h.getLong(20);
    BitSet marks = new BitSet();
    long records = 0;
    int pos = HEADER_BYTES;
    while (bytes.length - pos >= RECORD_BYTES && validRecord(bytes, pos, salt, blockCount, c)) {
      ByteBuffer r = ByteBuffer.wrap(bytes);
      long first = r.getLong(pos);
      int blocks = r.getInt(pos + 8);
      marks.set((int) first, (int) (first + blocks));
      records++;
      pos += RECORD_BYTES;
    }
    long torn = bytes.length - pos;
    // Records are appended in order, so a torn append is the last one; a damaged record with a
    // valid one after it is damage (or two appends of one fsync group, half persisted): unknown.
    for (int q = pos + RECORD_BYTES; bytes.length - q >= RECORD_BYTES; q += RECORD_BYTES) {
      if (validRecord(bytes, q, salt, blockCount, c)) {
        return unreadable("the change log " + path + " is damaged at byte " + pos + " with valid records after it");
      }
    }
    into.or(marks);
    return new Recovery(true, marks.cardinality(), records, torn,
        "read " + marks.cardinality() + " changed blocks from " + records + " records of " + path
            + (torn > 0 ? "; a torn last record of " + torn + " bytes dropped (its write was never written nor acknowledged)" : ""));
  }

  private static boolean validRecord(byte[] bytes, int pos, long salt, long blockCount, CRC32C c) {
    ByteBuffer r = ByteBuffer.wrap(bytes);
    long first = r.getLong(pos);
    int blocks = r.getInt(pos + 8);
    c.reset();
    c.update(ByteBuffer.allocate(8).putLong(0, salt).array());
    c.update(bytes, pos, RECORD_BYTES - 4);
    return (int) c.getValue() == r.getInt(pos + 12) && first >= 0 && blocks >= 1 && first + blocks <= blockCount;
  }

  private static Recovery unreadable(String why) {
    return new Recovery(false, -1, 0, 0, why);
  }

  static Path rewritePath(Path path) {
    return path.resolveSibling(path.getFileName() + ".rewrite");
  }

  @Override
  public synchronized void close() {
    try {
      if (channel != null) {
        channel.close();
      }
    } catch (IOException e) {
      // every mark that matters was forced before its write; nothing is lost by a failed close
    }
    if (broken.isEmpty()) {
      broken = "the change log " + path + " is closed";
    }
  }
}
