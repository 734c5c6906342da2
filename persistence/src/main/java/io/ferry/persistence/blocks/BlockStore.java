package io.ferry.persistence.blocks;

import static io.ferry.persistence.blocks.internal.RecordFormat.*;

import io.ferry.persistence.Sha256;
import io.ferry.persistence.blocks.internal.HashIndex;
import io.ferry.persistence.blocks.internal.ReadCache;
import io.ferry.persistence.blocks.internal.VolumeMap;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The target site's on-disk block store: blocks compressed at rest in append-only data segments,
 * deduplicated by SHA-256 across volumes, and an append-only index log of (volume, block) → hash or
 * zero, replayed into memory on open. The migration frontend writes into it as blocks arrive; its
 * NBD threads read from it concurrently. File formats: {@link
 * io.ferry.persistence.blocks.internal.RecordFormat}.
 *
 * <p>Durability: every mutation is written to the OS before the call returns, so a killed process
 * loses nothing; after a power loss only what {@link #sync()} covered is guaranteed. Torn records
 * at the tail are found by CRC32C on open and dropped.
 */
public final class BlockStore implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(BlockStore.class);
  private static final LZ4Factory LZ4 = LZ4Factory.fastestInstance();
  private static final String INDEX_FILE = "index.log";
  private static final String LOCK_FILE = "LOCK";
  /** A file being rewritten by {@link #reclaim}; it replaces its original by an atomic rename. */
  private static final String COMPACT_SUFFIX = ".compact";
  private static final Pattern SEGMENT_NAME = Pattern.compile("data-(\\d{8})\\.seg");
  /** Compression must save at least 1/8 of the block, else the block is stored raw. */
  private static final int COMPRESSION_SAVING_MIN_SHIFT = 3;
  private static final int FOR_EACH_HASH_CHUNK = 4096;

  private final Path dir;
  private final BlockStoreSettings settings;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final LZ4Compressor compressor = LZ4.fastCompressor();
  private final LZ4SafeDecompressor decompressor = LZ4.safeDecompressor();
  private final ReadCache cache;
  private final ThreadLocal<ReadScratch> readScratch = ThreadLocal.withInitial(ReadScratch::new);
  private final AtomicLong dedupHits = new AtomicLong();

  /**
   * Guards the in-memory maps and the segment list. Mutations hold {@link #writeLock} for their
   * whole length (file appends included) and take this write lock only to publish, so readers wait
   * for map updates, never for disk writes.
   */
  private final ReentrantReadWriteLock mapLock = new ReentrantReadWriteLock();

  private final HashIndex hashes = new HashIndex();
  private final Map<String, VolumeMap> volumes = new HashMap<>();
  private final List<FileChannel> segments = new ArrayList<>();
  private long logicalBytes;

  /** Serializes mutations; guards everything below. */
  private final ReentrantLock writeLock = new ReentrantLock();

  private FileChannel active;
  private long activeBytes;
  private long sealedBytes;
  private FileChannel indexLog;
  private long indexBytes;
  private int nextVolumeId;
  private byte[] writeBuffer = new byte[0];
  private final ByteBuffer indexBuffer =
      ByteBuffer.allocate(INDEX_RECORD_HEADER_BYTES + INDEX_BODY_BYTES_MAX);
  private final CRC32C writeCrc = new CRC32C();
  private volatile boolean closed;

  private BlockStore(Path dir, BlockStoreSettings settings, FileChannel lockChannel, FileLock lock) {
    this.dir = dir;
    this.settings = settings;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.cache = new ReadCache(settings.readCacheBlocks());
  }

  /** Creates the store in dir, or recovers the one there. One open store per directory. */
  public static BlockStore open(Path dir, BlockStoreSettings settings) throws IOException {
    Objects.requireNonNull(settings, "settings");
    Files.createDirectories(dir);
    FileChannel lockChannel =
        FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = lockChannel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      lockChannel.close();
      throw new IOException("block store " + dir + " is already open (its LOCK file is held)");
    }
    BlockStore store = new BlockStore(dir, settings, lockChannel, lock);
    try {
      store.recover();
      return store;
    } catch (IOException | RuntimeException e) {
      store.closeQuietly();
      throw e;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Queries

  public boolean hasHash(byte[] sha256) {
    requireHash(sha256);
    mapLock.readLock().lock();
    try {
      return hashes.find(sha256) >= 0;
    } finally {
      mapLock.readLock().unlock();
    }
  }

  public Optional<BlockEntry> lookup(String volume, long index) {
    mapLock.readLock().lock();
    try {
      VolumeMap map = volumes.get(volume);
      if (map == null || index < 0 || index >= map.blockCount()) {
        return Optional.empty();
      }
      int entry = map.get(index);
      if (entry == VolumeMap.ABSENT) {
        return Optional.empty();
      }
      boolean local = VolumeMap.isLocal(entry);
      if (VolumeMap.isZero(entry)) {
        return Optional.of(new BlockEntry(BlockEntry.Kind.ZERO, null, local));
      }
      return Optional.of(
          new BlockEntry(BlockEntry.Kind.DATA, hashes.hash(VolumeMap.blockId(entry)), local));
    } finally {
      mapLock.readLock().unlock();
    }
  }

  /**
   * Reads block index of volume into dst[0, blockSizeBytes): decompressed, zeros for a ZERO entry
   * and past the end of a short last block. Returns false (dst untouched) when the volume has no
   * entry there. Throws an IOException naming the volume and index when the stored block is
   * corrupt; wrong bytes are never returned.
   */
  public boolean read(String volume, long index, byte[] dst) throws IOException {
    int blockSize;
    Location at;
    mapLock.readLock().lock();
    try {
      ensureOpen();
      VolumeMap map = volumes.get(volume);
      if (map == null || index < 0 || index >= map.blockCount()) {
        return false;
      }
      blockSize = map.blockSizeBytes();
      if (dst.length < blockSize) {
        throw new IllegalArgumentException(
            "dst of " + dst.length + " bytes is shorter than block size " + blockSize
                + " of volume " + volume);
      }
      int entry = map.get(index);
      if (entry == VolumeMap.ABSENT) {
        return false;
      }
      if (VolumeMap.isZero(entry)) {
        Arrays.fill(dst, 0, blockSize, (byte) 0);
        return true;
      }
      at = locate(VolumeMap.blockId(entry));
    } finally {
      mapLock.readLock().unlock();
    }
    readBlockOrRelocated(at, dst, volume, index);
    Arrays.fill(dst, at.raw(), blockSize, (byte) 0);
    return true;
  }

  public Optional<byte[]> readByHash(byte[] sha256) throws IOException {
    requireHash(sha256);
    Location at;
    mapLock.readLock().lock();
    try {
      ensureOpen();
      int blockId = hashes.find(sha256);
      if (blockId < 0) {
        return Optional.empty();
      }
      at = locate(blockId);
    } finally {
      mapLock.readLock().unlock();
    }
    byte[] dst = new byte[at.raw()];
    readBlockOrRelocated(at, dst, null, -1);
    return Optional.of(dst);
  }

  /** A copy of the set of block indexes of volume that have an entry (DATA or ZERO). */
  public BitSet present(String volume) {
    mapLock.readLock().lock();
    try {
      VolumeMap map = volumes.get(volume);
      return map == null ? new BitSet() : map.present();
    } finally {
      mapLock.readLock().unlock();
    }
  }

  public long presentCount(String volume) {
    mapLock.readLock().lock();
    try {
      VolumeMap map = volumes.get(volume);
      return map == null ? 0 : map.presentCount();
    } finally {
      mapLock.readLock().unlock();
    }
  }

  /**
   * Hands every stored hash (a fresh array each) to consumer, including blocks no volume maps any
   * more. Hashes stored while this runs may or may not be seen. The consumer runs without any lock
   * held, so it may call back into the store.
   */
  public void forEachHash(Consumer<byte[]> consumer) {
    int next = 0;
    byte[][] chunk = new byte[FOR_EACH_HASH_CHUNK][];
    while (true) {
      int n;
      mapLock.readLock().lock();
      try {
        n = Math.min(FOR_EACH_HASH_CHUNK, hashes.idLimit() - next);
        for (int i = 0; i < n; i++) {
          chunk[i] = hashes.isRemoved(next + i) ? null : hashes.hash(next + i);
        }
      } finally {
        mapLock.readLock().unlock();
      }
      if (n <= 0) {
        return;
      }
      for (int i = 0; i < n; i++) {
        if (chunk[i] != null) {
          consumer.accept(chunk[i]);
        }
      }
      next += n;
    }
  }

  public Optional<VolumeGeometry> geometry(String volume) {
    mapLock.readLock().lock();
    try {
      VolumeMap map = volumes.get(volume);
      return map == null
          ? Optional.empty()
          : Optional.of(new VolumeGeometry(map.sizeBytes(), map.blockSizeBytes()));
    } finally {
      mapLock.readLock().unlock();
    }
  }

  public StoreStats stats() {
    writeLock.lock();
    mapLock.readLock().lock();
    try {
      long zeros = 0;
      for (VolumeMap map : volumes.values()) {
        zeros += map.zeroCount();
      }
      return new StoreStats(
          hashes.size(), logicalBytes, sealedBytes + activeBytes + indexBytes, dedupHits.get(), zeros);
    } finally {
      mapLock.readLock().unlock();
      writeLock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Mutations

  /**
   * Registers a volume; persisted. Registering the same geometry again does nothing; a different
   * geometry for a registered volume is refused with an IllegalArgumentException.
   */
  public void registerVolume(String volume, long sizeBytes, int blockSizeBytes) throws IOException {
    byte[] name = volumeName(volume);
    VolumeGeometry geometry = new VolumeGeometry(sizeBytes, blockSizeBytes);
    writeLock.lock();
    try {
      ensureOpen();
      VolumeMap existing = volumes.get(volume);
      if (existing != null) {
        if (existing.sizeBytes() != sizeBytes || existing.blockSizeBytes() != blockSizeBytes) {
          throw new IllegalArgumentException(
              "volume " + volume + " is registered with size " + existing.sizeBytes()
                  + " bytes and block size " + existing.blockSizeBytes()
                  + " bytes; refusing size " + sizeBytes + " bytes and block size "
                  + blockSizeBytes + " bytes (delete the volume first to change its geometry)");
        }
        return;
      }
      int id = nextVolumeId;
      ByteBuffer body = beginIndexRecord();
      body.putInt(id).putLong(sizeBytes).putInt(blockSizeBytes).putShort((short) name.length)
          .put(name);
      appendIndexRecord(TYPE_VOLUME, 0);
      nextVolumeId = id + 1;
      VolumeMap map = new VolumeMap(id, volume, sizeBytes, blockSizeBytes, geometry.blockCount());
      publish(() -> volumes.put(volume, map));
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Drops the volume's map (persisted). Its blocks stay in the data segments and keep serving
   * dedup and {@link #readByHash} until {@link #reclaim} removes those no other volume maps.
   * Unknown volume: no-op.
   */
  public void deleteVolume(String volume) throws IOException {
    writeLock.lock();
    try {
      ensureOpen();
      VolumeMap map = volumes.get(volume);
      if (map == null) {
        return;
      }
      beginIndexRecord().putInt(map.id());
      appendIndexRecord(TYPE_DELETE_VOLUME, 0);
      publish(() -> volumes.remove(volume));
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Stores the block under its hash if new (dedup) and maps (volume, index) to it. Returns whether
   * the data was new; false also when the put is ignored because (volume, index) holds a local
   * write and this put is not one.
   */
  public boolean put(
      String volume,
      long index,
      byte[] sha256,
      byte[] data,
      int offset,
      int length,
      boolean localWrite)
      throws IOException {
    requireHash(sha256);
    Objects.checkFromIndexSize(offset, length, data.length);
    writeLock.lock();
    try {
      ensureOpen();
      VolumeMap map = volumeForWrite(volume, index);
      int blockLength = map.blockLength(index);
      if (length != blockLength && length != map.blockSizeBytes()) {
        throw new IllegalArgumentException(
            "block " + volume + "/" + index + " must be " + blockLength + " bytes, got " + length);
      }
      if (settings.verifyHashes()) {
        verifyHash(sha256, data, offset, length, volume, index);
      }
      int old = map.get(index);
      if (VolumeMap.isLocal(old) && !localWrite) {
        return false;
      }
      int blockId = hashes.find(sha256);
      boolean isNew = blockId < 0;
      if (isNew) {
        blockId = appendBlock(sha256, data, offset, length);
      } else {
        dedupHits.incrementAndGet();
      }
      mapEntry(map, index, VolumeMap.data(blockId, localWrite), sha256);
      return isNew;
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Maps (volume, index) to a block already stored. Returns false, changing nothing, when the hash
   * is unknown or (volume, index) holds a local write and this is not one.
   */
  public boolean putRef(String volume, long index, byte[] sha256, boolean localWrite)
      throws IOException {
    requireHash(sha256);
    writeLock.lock();
    try {
      ensureOpen();
      VolumeMap map = volumeForWrite(volume, index);
      int blockId = hashes.find(sha256);
      if (blockId < 0) {
        return false;
      }
      int raw = hashes.rawLength(blockId);
      if (raw != map.blockLength(index) && raw != map.blockSizeBytes()) {
        throw new IllegalArgumentException(
            "block " + volume + "/" + index + " must be " + map.blockLength(index)
                + " bytes, but the block with sha256 " + HashIndex.hex(sha256) + " has " + raw);
      }
      int old = map.get(index);
      if (VolumeMap.isLocal(old) && !localWrite) {
        return false;
      }
      dedupHits.incrementAndGet();
      mapEntry(map, index, VolumeMap.data(blockId, localWrite), sha256);
      return true;
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Marks (volume, index) as all zeros (nothing stored). Ignored when (volume, index) holds a local
   * write and this is not one.
   */
  public void putZero(String volume, long index, boolean localWrite) throws IOException {
    writeLock.lock();
    try {
      ensureOpen();
      VolumeMap map = volumeForWrite(volume, index);
      int old = map.get(index);
      if (VolumeMap.isLocal(old) && !localWrite) {
        return;
      }
      mapEntry(map, index, VolumeMap.zero(localWrite), null);
    } finally {
      writeLock.unlock();
    }
  }

  /** Forces the data segment, then the index log, to stable storage (NBD FLUSH). */
  public void sync() throws IOException {
    writeLock.lock();
    try {
      ensureOpen();
      active.force(false);
      indexLog.force(false);
    } finally {
      writeLock.unlock();
    }
  }

  /** Syncs and closes. Reads racing with close may fail with an IOException. */
  @Override
  public void close() {
    writeLock.lock();
    try {
      if (closed) {
        return;
      }
      try {
        active.force(false);
        indexLog.force(false);
      } catch (IOException e) {
        log.warn("block store dir={} could not sync on close", dir, e);
      }
      mapLock.writeLock().lock();
      try {
        closed = true;
      } finally {
        mapLock.writeLock().unlock();
      }
      closeQuietly();
    } finally {
      writeLock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reclaim

  /** Reclaims with no crash points observed: see {@link #reclaim(double, Consumer)}. */
  public Reclaimed reclaim(double garbageRatioMin) throws IOException {
    return reclaim(garbageRatioMin, step -> {});
  }

  /**
   * Collects blocks no volume maps any more (overwritten, or their volume deleted) and compacts the
   * store, online. Every sealed segment whose unmapped records make up at least {@code
   * garbageRatioMin} of it is rewritten with only its mapped records; then, if superseded records
   * make up as much of the index log, it is rewritten as one record per volume and current entry. Each rewrite goes to a {@code
   * .compact} file that is forced and then renamed over the original, so a crash at any point
   * leaves either the old file or the new one, and both describe the same mapped blocks: a segment
   * loses only unmapped blocks (their old index records are dropped on replay and were superseded
   * anyway), and the new index log names only blocks that stay. Leftover {@code .compact} files are
   * deleted on open.
   *
   * <p>Writes wait while it runs (it holds the write lock, one segment of at most {@code
   * segmentBytesMax} at a time); reads go on, and a read that located a block in a segment just
   * rewritten reads it again from the new one. The active segment is never rewritten.
   *
   * @param crashPoints told the name of each step once its effects are on disk (tests copy the
   *     directory there to recover it as a crash would leave it)
   */
  Reclaimed reclaim(double garbageRatioMin, Consumer<String> crashPoints) throws IOException {
    if (!(garbageRatioMin > 0 && garbageRatioMin <= 1)) {
      throw new IllegalArgumentException("garbageRatioMin must be in (0, 1], got " + garbageRatioMin);
    }
    writeLock.lock();
    try {
      ensureOpen();
      java.util.BitSet mapped = new java.util.BitSet(hashes.idLimit());
      for (VolumeMap map : volumes.values()) {
        map.forEachDataBlock(mapped::set);
      }
      int activeSegment = segments.size() - 1;
      long[] garbage = new long[activeSegment];
      long[] sizes = new long[activeSegment];
      for (int s = 0; s < activeSegment; s++) {
        sizes[s] = segments.get(s).size();
      }
      for (int id = 0; id < hashes.idLimit(); id++) {
        if (!hashes.isRemoved(id) && !mapped.get(id) && hashes.segment(id) < activeSegment) {
          garbage[hashes.segment(id)] += DATA_HEADER_BYTES + hashes.storedLength(id);
        }
      }
      long removed = 0;
      int rewritten = 0;
      long dataFreed = 0;
      for (int s = 0; s < activeSegment; s++) {
        if (sizes[s] > 0 && garbage[s] >= garbageRatioMin * sizes[s]) {
          long before = sizes[s];
          removed += rewriteSegment(s, mapped, crashPoints);
          rewritten++;
          dataFreed += before - segments.get(s).size();
        }
      }
      long indexLive = INDEX_FILE_HEADER_BYTES;
      for (VolumeMap map : volumes.values()) {
        indexLive += INDEX_RECORD_HEADER_BYTES + VOLUME_BODY_BYTES_FIXED + volumeName(map.name()).length
            + (map.presentCount() - map.zeroCount()) * (INDEX_RECORD_HEADER_BYTES + MAP_DATA_BODY_BYTES)
            + map.zeroCount() * (INDEX_RECORD_HEADER_BYTES + MAP_ZERO_BODY_BYTES);
      }
      long indexFreed = indexBytes - indexLive >= garbageRatioMin * indexBytes ? rewriteIndex(crashPoints) : 0;
      Reclaimed r = new Reclaimed(removed, rewritten, dataFreed, indexFreed);
      log.info("block store dir={} reclaimed {}", dir, r);
      return r;
    } finally {
      writeLock.unlock();
    }
  }

  /** Rewrites sealed segment s with its mapped records only; returns the blocks removed. */
  private long rewriteSegment(int s, java.util.BitSet mapped, Consumer<String> crashPoints) throws IOException {
    FileChannel old = segments.get(s);
    List<int[]> keep = new ArrayList<>();
    java.util.BitSet drop = new java.util.BitSet();
    long droppedLogical = 0;
    for (int id = 0; id < hashes.idLimit(); id++) {
      if (!hashes.isRemoved(id) && hashes.segment(id) == s) {
        if (mapped.get(id)) {
          keep.add(new int[] {id});
        } else {
          drop.set(id);
          droppedLogical += hashes.rawLength(id);
        }
      }
    }
    keep.sort(java.util.Comparator.comparingLong(k -> hashes.offset(k[0])));
    Path target = dir.resolve(segmentFileName(s));
    Path tmp = dir.resolve(segmentFileName(s) + COMPACT_SUFFIX);
    long[] newOffsets = new long[keep.size()];
    long position = 0;
    try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      for (int i = 0; i < keep.size(); i++) {
        int id = keep.get(i)[0];
        int length = DATA_HEADER_BYTES + hashes.storedLength(id);
        ByteBuffer record = ByteBuffer.allocate(length);
        readFully(old, record, hashes.offset(id));
        record.flip();
        writeFully(out, record, position);
        newOffsets[i] = position;
        position += length;
        if (i == keep.size() / 2) {
          crashPoints.accept("segment-" + s + "-half-written");
        }
      }
      out.force(false);
    }
    crashPoints.accept("segment-" + s + "-written");
    java.nio.file.Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    forceDirectory();
    crashPoints.accept("segment-" + s + "-renamed");
    FileChannel fresh = FileChannel.open(target, StandardOpenOption.READ);
    long freed = old.size() - fresh.size();
    long droppedCount = drop.cardinality();
    mapLock.writeLock().lock();
    try {
      segments.set(s, fresh);
      for (int i = 0; i < keep.size(); i++) {
        hashes.relocate(keep.get(i)[0], s, newOffsets[i]);
      }
      hashes.removeAll(drop);
      logicalBytes -= droppedLogical;
      sealedBytes -= freed;
    } finally {
      mapLock.writeLock().unlock();
    }
    // A reader holding the old channel gets ClosedChannelException and locates the block again.
    closeQuietly(old);
    return droppedCount;
  }

  /** Rewrites the index log as the current volumes and entries; returns the bytes it shrank by. */
  private long rewriteIndex(Consumer<String> crashPoints) throws IOException {
    Path path = dir.resolve(INDEX_FILE);
    Path tmp = dir.resolve(INDEX_FILE + COMPACT_SUFFIX);
    long position;
    byte[] sha = new byte[SHA256_BYTES];
    try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteBuffer header = ByteBuffer.allocate(INDEX_FILE_HEADER_BYTES);
      header.putInt(INDEX_MAGIC).put(INDEX_VERSION).flip();
      writeFully(out, header, 0);
      position = INDEX_FILE_HEADER_BYTES;
      List<VolumeMap> maps = new ArrayList<>(volumes.values());
      maps.sort(java.util.Comparator.comparingInt(VolumeMap::id));
      boolean half = false;
      for (VolumeMap map : maps) {
        byte[] name = volumeName(map.name());
        beginIndexRecord().putInt(map.id()).putLong(map.sizeBytes()).putInt(map.blockSizeBytes()).putShort((short) name.length).put(name);
        position += writeIndexRecord(out, position, TYPE_VOLUME, 0);
        for (long index = 0; index < map.blockCount(); index++) {
          int entry = map.get(index);
          if (entry == VolumeMap.ABSENT) {
            continue;
          }
          int flags = VolumeMap.isLocal(entry) ? INDEX_FLAG_LOCAL_WRITE : 0;
          ByteBuffer body = beginIndexRecord().putInt(map.id()).putLong(index);
          if (VolumeMap.isZero(entry)) {
            position += writeIndexRecord(out, position, TYPE_MAP_ZERO, flags);
          } else {
            hashes.hashInto(VolumeMap.blockId(entry), sha);
            body.put(sha);
            position += writeIndexRecord(out, position, TYPE_MAP_DATA, flags);
          }
        }
        if (!half) {
          half = true;
          crashPoints.accept("index-half-written");
        }
      }
      out.force(false);
    }
    crashPoints.accept("index-written");
    java.nio.file.Files.move(tmp, path, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    forceDirectory();
    crashPoints.accept("index-renamed");
    FileChannel old = indexLog;
    long freed = indexBytes - position;
    indexLog = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    indexBytes = position;
    closeQuietly(old);
    return freed;
  }

  // ---------------------------------------------------------------------------------------------
  // Write path (callers hold writeLock)

  private void mapEntry(VolumeMap map, long index, int entry, byte[] sha256) throws IOException {
    if (map.get(index) == entry) {
      return;
    }
    ByteBuffer body = beginIndexRecord().putInt(map.id()).putLong(index);
    int flags = VolumeMap.isLocal(entry) ? INDEX_FLAG_LOCAL_WRITE : 0;
    if (sha256 != null) {
      body.put(sha256);
      appendIndexRecord(TYPE_MAP_DATA, flags);
    } else {
      appendIndexRecord(TYPE_MAP_ZERO, flags);
    }
    mapLock.writeLock().lock();
    try {
      map.set(index, entry);
    } finally {
      mapLock.writeLock().unlock();
    }
  }

  /** Appends a data record (compressed when that pays) and publishes the block; returns its id. */
  private int appendBlock(byte[] sha256, byte[] data, int offset, int length) throws IOException {
    int capacity = DATA_HEADER_BYTES + compressor.maxCompressedLength(length);
    if (writeBuffer.length < capacity) {
      writeBuffer = new byte[capacity];
    }
    int compressed =
        compressor.compress(data, offset, length, writeBuffer, DATA_HEADER_BYTES, capacity - DATA_HEADER_BYTES);
    int flags = 0;
    int stored;
    if (compressed <= length - (length >>> COMPRESSION_SAVING_MIN_SHIFT)) {
      flags = DATA_FLAG_LZ4;
      stored = compressed;
    } else {
      System.arraycopy(data, offset, writeBuffer, DATA_HEADER_BYTES, length);
      stored = length;
    }
    ByteBuffer header = ByteBuffer.wrap(writeBuffer, 0, DATA_HEADER_BYTES);
    header.putInt(DATA_MAGIC).put(DATA_VERSION).put((byte) flags).putShort((short) 0)
        .putInt(stored).putInt(length).put(sha256);
    writeCrc.reset();
    writeCrc.update(writeBuffer, 0, DATA_CRC_OFFSET);
    writeCrc.update(writeBuffer, DATA_HEADER_BYTES, stored);
    header.putInt((int) writeCrc.getValue());
    int recordBytes = DATA_HEADER_BYTES + stored;
    if (activeBytes > 0 && activeBytes + recordBytes > settings.segmentBytesMax()) {
      rollSegment();
    }
    long position = activeBytes;
    writeFully(active, ByteBuffer.wrap(writeBuffer, 0, recordBytes), position);
    activeBytes += recordBytes;
    int segment = segments.size() - 1;
    mapLock.writeLock().lock();
    try {
      logicalBytes += length;
      return hashes.add(sha256, segment, position, stored, length);
    } finally {
      mapLock.writeLock().unlock();
    }
  }

  /** Seals the active segment (forced, so an older segment is never torn) and starts the next. */
  private void rollSegment() throws IOException {
    active.force(false);
    int next = segments.size();
    FileChannel channel =
        FileChannel.open(
            dir.resolve(segmentFileName(next)),
            StandardOpenOption.CREATE_NEW,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE);
    forceDirectory();
    publish(() -> segments.add(channel));
    sealedBytes += activeBytes;
    active = channel;
    activeBytes = 0;
    log.debug("block store dir={} started segment={}", dir, next);
  }

  private ByteBuffer beginIndexRecord() {
    indexBuffer.clear();
    indexBuffer.position(INDEX_RECORD_HEADER_BYTES);
    return indexBuffer;
  }

  private void appendIndexRecord(byte type, int flags) throws IOException {
    indexBytes += writeIndexRecord(indexLog, indexBytes, type, flags);
  }

  /** Seals the record begun with {@link #beginIndexRecord} and writes it at position; returns its length. */
  private int writeIndexRecord(FileChannel channel, long position, byte type, int flags) throws IOException {
    int end = indexBuffer.position();
    indexBuffer.put(4, type).put(5, (byte) flags).putShort(6, (short) (end - INDEX_RECORD_HEADER_BYTES));
    writeCrc.reset();
    writeCrc.update(indexBuffer.array(), 4, end - 4);
    indexBuffer.putInt(0, (int) writeCrc.getValue());
    indexBuffer.flip();
    writeFully(channel, indexBuffer, position);
    return end;
  }

  private VolumeMap volumeForWrite(String volume, long index) {
    VolumeMap map = volumes.get(volume);
    if (map == null) {
      throw new IllegalArgumentException("volume " + volume + " is not registered");
    }
    if (index < 0 || index >= map.blockCount()) {
      throw new IllegalArgumentException(
          "block index " + index + " is outside volume " + volume + " of " + map.blockCount()
              + " blocks");
    }
    return map;
  }

  private void publish(Runnable change) {
    mapLock.writeLock().lock();
    try {
      change.run();
    } finally {
      mapLock.writeLock().unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Read path

  /** Where a stored block's record is, taken under the map lock and read without it. */
  private record Location(int blockId, FileChannel channel, long offset, int stored, int raw) {}

  /** Call with the map lock held. */
  private Location locate(int blockId) {
    return new Location(
        blockId, segments.get(hashes.segment(blockId)), hashes.offset(blockId), hashes.storedLength(blockId), hashes.rawLength(blockId));
  }

  /**
   * Reads a located block; if {@link #reclaim} closed the segment the location was taken from (it
   * rewrote it meanwhile), locates the block again and reads it there. Ids are never reused, so the
   * block is the same one.
   */
  private void readBlockOrRelocated(Location at, byte[] dst, String volume, long index) throws IOException {
    try {
      readBlock(at, dst, volume, index);
    } catch (java.nio.channels.ClosedChannelException e) {
      Location again;
      mapLock.readLock().lock();
      try {
        ensureOpen();
        if (hashes.isRemoved(at.blockId())) {
          throw new IOException("block " + volume + "/" + index + " was reclaimed while being read (no volume maps it any more)", e);
        }
        again = locate(at.blockId());
      } finally {
        mapLock.readLock().unlock();
      }
      readBlock(again, dst, volume, index);
    }
  }

  private void readBlock(Location at, byte[] dst, String volume, long index) throws IOException {
    int blockId = at.blockId();
    FileChannel channel = at.channel();
    long offset = at.offset();
    int stored = at.stored();
    int raw = at.raw();
    if (settings.readCacheBlocks() > 0 && cache.copyInto(blockId, dst) >= 0) {
      return;
    }
    ReadScratch scratch = readScratch.get();
    int recordBytes = DATA_HEADER_BYTES + stored;
    ByteBuffer buffer = scratch.buffer(recordBytes);
    try {
      readFully(channel, buffer, offset);
    } catch (EOFException e) {
      throw corrupt(blockId, volume, index, "record is cut short at the end of its segment");
    }
    byte[] record = buffer.array();
    if (buffer.getInt(0) != DATA_MAGIC || buffer.get(4) != DATA_VERSION) {
      throw corrupt(blockId, volume, index, "bad record magic or version");
    }
    if (buffer.getInt(8) != stored || buffer.getInt(12) != raw) {
      throw corrupt(blockId, volume, index, "record lengths differ from the index");
    }
    scratch.crc.reset();
    scratch.crc.update(record, 0, DATA_CRC_OFFSET);
    scratch.crc.update(record, DATA_HEADER_BYTES, stored);
    if ((int) scratch.crc.getValue() != buffer.getInt(DATA_CRC_OFFSET)) {
      throw corrupt(blockId, volume, index, "CRC32C mismatch");
    }
    byte[] expected = scratch.hash;
    mapLock.readLock().lock();
    try {
      hashes.hashInto(blockId, expected);
    } finally {
      mapLock.readLock().unlock();
    }
    if (!Arrays.equals(record, 16, 16 + SHA256_BYTES, expected, 0, SHA256_BYTES)) {
      throw corrupt(blockId, volume, index, "record holds a different hash");
    }
    if ((buffer.get(5) & DATA_FLAG_LZ4) != 0) {
      int n;
      try {
        n = decompressor.decompress(record, DATA_HEADER_BYTES, stored, dst, 0, raw);
      } catch (LZ4Exception e) {
        throw corrupt(blockId, volume, index, "LZ4 payload does not decompress: " + e.getMessage());
      }
      if (n != raw) {
        throw corrupt(blockId, volume, index, "decompressed to " + n + " bytes, expected " + raw);
      }
    } else {
      System.arraycopy(record, DATA_HEADER_BYTES, dst, 0, raw);
    }
    if (settings.verifyHashes()) {
      byte[] actual = scratch.sha256(dst, 0, raw);
      if (!Arrays.equals(actual, expected)) {
        throw corrupt(blockId, volume, index, "SHA-256 of the block differs");
      }
    }
    if (settings.readCacheBlocks() > 0) {
      cache.put(blockId, dst, raw);
    }
  }

  private IOException corrupt(int blockId, String volume, long index, String why) {
    String where;
    String hash;
    mapLock.readLock().lock();
    try {
      where = "segment " + hashes.segment(blockId) + " offset " + hashes.offset(blockId);
      hash = HashIndex.hex(hashes.hash(blockId));
    } finally {
      mapLock.readLock().unlock();
    }
    String block = volume == null ? "block" : "block " + volume + "/" + index;
    return new IOException(
        block + " (sha256 " + hash + ") at " + where + " in " + dir + " is corrupt: " + why);
  }

  /** Per-thread buffers of the read path, so a read allocates nothing. */
  private static final class ReadScratch {
    final CRC32C crc = new CRC32C();
    final byte[] hash = new byte[SHA256_BYTES];
    private ByteBuffer buffer = ByteBuffer.allocate(0);
    private MessageDigest digest;

    ByteBuffer buffer(int bytes) {
      if (buffer.capacity() < bytes) {
        buffer = ByteBuffer.allocate(Math.max(bytes, buffer.capacity() * 2));
      }
      buffer.clear().limit(bytes);
      return buffer;
    }

    byte[] sha256(byte[] data, int offset, int length) {
      if (digest == null) {
        digest = Sha256.create();
      }
      digest.update(data, offset, length);
      return digest.digest();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Recovery

  private void recover() throws IOException {
    TreeMap<Integer, Path> found = new TreeMap<>();
    try (var listing = Files.list(dir)) {
      for (Path p : (Iterable<Path>) listing::iterator) {
        if (p.getFileName().toString().endsWith(COMPACT_SUFFIX)) {
          // A rewrite that crashed before its rename: the original is whole and still in place.
          log.info("block store dir={} removed the unfinished rewrite {}", dir, p.getFileName());
          Files.delete(p);
          continue;
        }
        Matcher m = SEGMENT_NAME.matcher(p.getFileName().toString());
        if (m.matches()) {
          found.put(Integer.parseInt(m.group(1)), p);
        }
      }
    }
    int expected = 0;
    for (int segment : found.keySet()) {
      if (segment != expected++) {
        throw new IOException(
            "block store " + dir + " is missing " + segmentFileName(expected - 1)
                + " (segments found: " + found.keySet() + ")");
      }
    }
    long droppedDataBytes = 0;
    long skippedDataBytes = 0;
    for (var e : found.entrySet()) {
      boolean last = e.getKey() == found.lastKey();
      FileChannel channel =
          last
              ? FileChannel.open(e.getValue(), StandardOpenOption.READ, StandardOpenOption.WRITE)
              : FileChannel.open(e.getValue(), StandardOpenOption.READ);
      segments.add(channel);
      long size = channel.size();
      long[] scan = scanSegment(e.getKey(), channel, last);
      long validEnd = scan[0];
      skippedDataBytes += scan[1];
      if (last) {
        if (validEnd < size) {
          droppedDataBytes += size - validEnd;
          log.warn(
              "block store dir={} segment={} dropped a torn tail of {} bytes at offset {}",
              dir, e.getKey(), size - validEnd, validEnd);
          channel.truncate(validEnd);
        }
        active = channel;
        activeBytes = validEnd;
      } else {
        sealedBytes += size;
      }
    }
    if (segments.isEmpty()) {
      active =
          FileChannel.open(
              dir.resolve(segmentFileName(0)),
              StandardOpenOption.CREATE_NEW,
              StandardOpenOption.READ,
              StandardOpenOption.WRITE);
      segments.add(active);
      forceDirectory();
    }
    long[] replay = replayIndex();
    log.info(
        "block store opened dir={} segments={} blocks={} volumes={} droppedDataBytes={} "
            + "skippedCorruptDataBytes={} droppedIndexBytes={} droppedMappings={}",
        dir, segments.size(), hashes.size(), volumes.size(), droppedDataBytes, skippedDataBytes,
        replay[0], replay[1]);
  }

  /**
   * Registers the valid records of one segment. The active (last) segment is checked record by
   * record with CRC32C, since its tail may be torn; sealed segments were forced before the next
   * one was created, so only their headers are checked here and payloads on every read. A bad
   * record followed by a valid one (corruption, not a torn tail) is skipped. Returns {end of the
   * last valid record, bytes skipped}.
   */
  private long[] scanSegment(int segment, FileChannel channel, boolean verifyPayloads)
      throws IOException {
    long size = channel.size();
    if (size == 0) {
      return new long[] {0, 0};
    }
    MappedByteBuffer m = channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
    CRC32C crc = new CRC32C();
    byte[] sha = new byte[SHA256_BYTES];
    int pos = 0;
    long validEnd = 0;
    long skipped = 0;
    while (pos < size) {
      int length = validRecordLength(m, pos, verifyPayloads, crc);
      if (length < 0) {
        int next = pos + 1;
        while (next < size && validRecordLength(m, next, true, crc) < 0) {
          next++;
        }
        if (next >= size) {
          break;
        }
        log.error(
            "block store dir={} segment={} skipped {} corrupt bytes at offset {}",
            dir, segment, next - pos, pos);
        skipped += next - pos;
        pos = next;
        continue;
      }
      m.get(pos + 16, sha);
      if (hashes.find(sha) < 0) {
        hashes.add(sha, segment, pos, m.getInt(pos + 8), m.getInt(pos + 12));
        logicalBytes += m.getInt(pos + 12);
      }
      pos += length;
      validEnd = pos;
    }
    return new long[] {validEnd, skipped};
  }

  private int validRecordLength(MappedByteBuffer m, int pos, boolean verifyPayload, CRC32C crc) {
    int size = m.capacity();
    if (size - pos < DATA_HEADER_BYTES
        || m.getInt(pos) != DATA_MAGIC
        || m.get(pos + 4) != DATA_VERSION
        || m.getShort(pos + 6) != 0) {
      return -1;
    }
    int flags = m.get(pos + 5);
    int stored = m.getInt(pos + 8);
    int raw = m.getInt(pos + 12);
    if ((flags & ~DATA_FLAG_LZ4) != 0
        || raw <= 0
        || raw > VolumeGeometry.BLOCK_SIZE_BYTES_MAX
        || stored <= 0
        || ((flags & DATA_FLAG_LZ4) == 0 ? stored != raw : stored >= raw)
        || size - pos - DATA_HEADER_BYTES < stored) {
      return -1;
    }
    if (verifyPayload) {
      crc.reset();
      crc.update(m.duplicate().position(pos).limit(pos + DATA_CRC_OFFSET));
      crc.update(m.duplicate().position(pos + DATA_HEADER_BYTES).limit(pos + DATA_HEADER_BYTES + stored));
      if ((int) crc.getValue() != m.getInt(pos + DATA_CRC_OFFSET)) {
        return -1;
      }
    }
    return DATA_HEADER_BYTES + stored;
  }

  /**
   * Replays the longest valid prefix of the index log into the maps and truncates the rest.
   * Returns {bytes dropped, mappings dropped because their block did not survive}.
   */
  private long[] replayIndex() throws IOException {
    Path path = dir.resolve(INDEX_FILE);
    boolean exists = Files.exists(path);
    indexLog =
        FileChannel.open(
            path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    long size = indexLog.size();
    if (!exists || size < INDEX_FILE_HEADER_BYTES) {
      ByteBuffer header = ByteBuffer.allocate(INDEX_FILE_HEADER_BYTES);
      header.putInt(INDEX_MAGIC).put(INDEX_VERSION).flip();
      indexLog.truncate(0);
      writeFully(indexLog, header, 0);
      indexLog.force(false);
      forceDirectory();
      indexBytes = INDEX_FILE_HEADER_BYTES;
      return new long[] {size, 0};
    }
    Map<Integer, VolumeMap> byId = new HashMap<>();
    long droppedMappings = 0;
    long pos;
    try (InputStream in = Files.newInputStream(path)) {
      DataInputStream data = new DataInputStream(new BufferedInputStream(in, 1 << 16));
      if (data.readInt() != INDEX_MAGIC || data.readByte() != INDEX_VERSION) {
        throw new IOException(path + " is not a Ferry block index log of version " + INDEX_VERSION);
      }
      data.skipNBytes(3);
      pos = INDEX_FILE_HEADER_BYTES;
      byte[] record = new byte[INDEX_RECORD_HEADER_BYTES + INDEX_BODY_BYTES_MAX];
      ByteBuffer view = ByteBuffer.wrap(record);
      CRC32C crc = new CRC32C();
      byte[] sha = new byte[SHA256_BYTES];
      while (size - pos >= INDEX_RECORD_HEADER_BYTES) {
        data.readFully(record, 0, INDEX_RECORD_HEADER_BYTES);
        int bodyLength = view.getShort(6) & 0xFFFF;
        if (bodyLength > INDEX_BODY_BYTES_MAX || size - pos - INDEX_RECORD_HEADER_BYTES < bodyLength) {
          break;
        }
        data.readFully(record, INDEX_RECORD_HEADER_BYTES, bodyLength);
        crc.reset();
        crc.update(record, 4, 4 + bodyLength);
        if ((int) crc.getValue() != view.getInt(0)) {
          break;
        }
        byte type = record[4];
        boolean local = (record[5] & INDEX_FLAG_LOCAL_WRITE) != 0;
        view.position(INDEX_RECORD_HEADER_BYTES).limit(INDEX_RECORD_HEADER_BYTES + bodyLength);
        if (!validBodyLength(type, bodyLength, view)) {
          break;
        }
        int volumeId = view.getInt();
        if (type == TYPE_VOLUME) {
          long sizeBytes = view.getLong();
          int blockSize = view.getInt();
          int nameLength = view.getShort() & 0xFFFF;
          String name = new String(record, view.position(), nameLength, StandardCharsets.UTF_8);
          VolumeGeometry g = new VolumeGeometry(sizeBytes, blockSize);
          VolumeMap map = new VolumeMap(volumeId, name, sizeBytes, blockSize, g.blockCount());
          byId.put(volumeId, map);
          volumes.put(name, map);
          nextVolumeId = Math.max(nextVolumeId, volumeId + 1);
        } else if (type == TYPE_DELETE_VOLUME) {
          VolumeMap map = byId.remove(volumeId);
          if (map != null) {
            volumes.remove(map.name());
          }
        } else {
          VolumeMap map = byId.get(volumeId);
          long index = view.getLong();
          if (map == null || index < 0 || index >= map.blockCount()) {
            throw new IOException(
                path + " at offset " + pos + " maps block " + index + " of volume id " + volumeId
                    + " which is not registered with that many blocks");
          }
          if (type == TYPE_MAP_ZERO) {
            map.set(index, VolumeMap.zero(local));
          } else {
            view.get(sha);
            int blockId = hashes.find(sha);
            if (blockId < 0) {
              droppedMappings++;
            } else {
              map.set(index, VolumeMap.data(blockId, local));
            }
          }
        }
        view.clear();
        pos += INDEX_RECORD_HEADER_BYTES + bodyLength;
      }
    }
    long dropped = size - pos;
    if (dropped > 0) {
      if (dropped > INDEX_RECORD_HEADER_BYTES + INDEX_BODY_BYTES_MAX) {
        Path aside = dir.resolve(INDEX_FILE + ".dropped-at-" + pos);
        try (FileChannel out =
            FileChannel.open(aside, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
          indexLog.transferTo(pos, dropped, out);
        }
        log.error(
            "block store dir={} index log is corrupt at offset {}: dropped {} bytes (kept in {})",
            dir, pos, dropped, aside);
      } else {
        log.warn("block store dir={} index log dropped a torn tail of {} bytes", dir, dropped);
      }
      indexLog.truncate(pos);
    }
    indexBytes = pos;
    return new long[] {dropped, droppedMappings};
  }

  private static boolean validBodyLength(byte type, int bodyLength, ByteBuffer view) {
    switch (type) {
      case TYPE_VOLUME:
        return bodyLength >= VOLUME_BODY_BYTES_FIXED
            && bodyLength
                == VOLUME_BODY_BYTES_FIXED
                    + (view.getShort(INDEX_RECORD_HEADER_BYTES + VOLUME_BODY_BYTES_FIXED - 2) & 0xFFFF);
      case TYPE_MAP_DATA:
        return bodyLength == MAP_DATA_BODY_BYTES;
      case TYPE_MAP_ZERO:
        return bodyLength == MAP_ZERO_BODY_BYTES;
      case TYPE_DELETE_VOLUME:
        return bodyLength == DELETE_VOLUME_BODY_BYTES;
      default:
        return false;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("block store " + dir + " is closed");
    }
  }

  private void forceDirectory() {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some file systems cannot open a directory for fsync; the file itself is still forced.
      log.debug("block store dir={} cannot fsync its directory: {}", dir, e.toString());
    }
  }

  private void closeQuietly() {
    for (FileChannel c : segments) {
      closeQuietly(c);
    }
    closeQuietly(indexLog);
    try {
      lock.release();
    } catch (IOException e) {
      log.debug("block store dir={} lock release failed", dir, e);
    }
    closeQuietly(lockChannel);
  }

  private static void closeQuietly(FileChannel c) {
    if (c != null) {
      try {
        c.close();
      } catch (IOException e) {
        log.debug("closing a block store file failed", e);
      }
    }
  }

  private static void writeFully(FileChannel channel, ByteBuffer src, long position)
      throws IOException {
    long p = position;
    while (src.hasRemaining()) {
      p += channel.write(src, p);
    }
  }

  private static void readFully(FileChannel channel, ByteBuffer dst, long position)
      throws IOException {
    long p = position;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, p);
      if (n < 0) {
        throw new EOFException();
      }
      p += n;
    }
  }

  private static void requireHash(byte[] sha256) {
    if (sha256 == null || sha256.length != SHA256_BYTES) {
      throw new IllegalArgumentException(
          "sha256 must be 32 bytes, got " + (sha256 == null ? "null" : sha256.length + " bytes"));
    }
  }

  private static byte[] volumeName(String volume) {
    if (volume == null || volume.isBlank()) {
      throw new IllegalArgumentException("volume name must not be blank");
    }
    byte[] name = volume.getBytes(StandardCharsets.UTF_8);
    if (name.length > VOLUME_NAME_BYTES_MAX) {
      throw new IllegalArgumentException(
          "volume name must be at most " + VOLUME_NAME_BYTES_MAX + " UTF-8 bytes, got " + name.length);
    }
    return name;
  }

  private static void verifyHash(
      byte[] sha256, byte[] data, int offset, int length, String volume, long index) {
    MessageDigest digest = Sha256.create();
    digest.update(data, offset, length);
    byte[] actual = digest.digest();
    if (!Arrays.equals(actual, sha256)) {
      throw new IllegalArgumentException(
          "sha256 of block " + volume + "/" + index + " is " + HashIndex.hex(actual)
              + ", the caller said " + HashIndex.hex(sha256));
    }
  }

}
