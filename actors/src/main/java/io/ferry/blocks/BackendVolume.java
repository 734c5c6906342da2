package io.ferry.blocks;

import io.ferry.blocks.plan.AccessTrace;
import io.ferry.persistence.Sha256;
import io.ferry.blocks.plan.BackgroundPlan;
import io.ferry.blocks.plan.BackgroundWindow;
import io.ferry.blocks.plan.OnDemandQueue;
import io.ferry.blocks.plan.StreamArbiter;
import io.ferry.blocks.plan.TracePredictor;
import io.ferry.transport.aeron.BlockSender;
import io.ferry.transport.aeron.BlockStream;
import io.ferry.transport.aeron.OfferResult;
import io.ferry.transport.frame.BlockFrameEncoder;
import io.ferry.transport.frame.FrameSealer;
import io.ferry.transport.frame.SealedFrame;
import io.ferry.transport.frame.FrameKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.BitSet;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import org.agrona.concurrent.UnsafeBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source side of one volume, without actors: reads the source image, scans it once (zero blocks,
 * hashes for dedup and the hot index), and sends blocks to the attached frontend over Aeron — on-demand
 * fetches first on their own stream, background blocks in {@link BackgroundPlan} order within the
 * frontend's credits, background keeping a minimum share. One sender thread and one scan thread;
 * the actor shell calls the public methods from its own thread.
 */
public final class BackendVolume implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(BackendVolume.class);

  /** Target hashes remembered per volume (about 100 bytes each); beyond it blocks cross as data, not REF. */
  private static final int TARGET_HASHES_MAX = 4_000_000;

  private final VolumeSpec spec;
  private final BlockSettings settings;
  private final SourceHashIndex hotIndex;
  private final BiFunction<String, Integer, BlockSender> connector;
  private final FileChannel source;
  private final long sizeBytes;
  private final int blockSize;
  private final long blockCount;
  private final TracePredictor predictor;

  // Guarded by `this`.
  private final byte[][] hashes;
  private final BitSet zeros = new BitSet();
  private final BitSet hot = new BitSet();
  private boolean scanned;
  private BackgroundPlan plan;
  private OnDemandQueue onDemand;
  private final StreamArbiter arbiter;
  private final Set<ByteBuffer> targetHashes = new HashSet<>();
  private final Set<Long> noRefBlocks = new HashSet<>();
  private long attachId = -1;
  private FrontendLink frontend;
  private BlockSender sender;
  private FrameSealer sealer;
  private String endpoint = "";
  /** Background frames on the way to the frontend, in bytes and frames: the credits' other half. */
  private final BackgroundWindow window;
  private boolean complete;
  /** The user paused the migration: no background blocks (on-demand fetches are still served). */
  private boolean paused;
  private volatile boolean running = true;

  private final Map<FrameKind, AtomicLong> framesSent = new EnumMap<>(FrameKind.class);
  private final Map<FrameKind, AtomicLong> bytesSent = new EnumMap<>(FrameKind.class);
  private final AtomicLong blocksScanned = new AtomicLong();
  private final AtomicLong onDemandRefused = new AtomicLong();

  private final Thread senderThread;
  private final Thread scanThread;

  public BackendVolume(VolumeSpec spec, BlockSettings settings, SourceHashIndex hotIndex, BiFunction<String, Integer, BlockSender> connector) throws IOException {
    this.spec = spec;
    this.settings = settings;
    this.hotIndex = hotIndex;
    this.connector = connector;
    Path path = Path.of(spec.sourcePath());
    if (!Files.exists(path)) {
      throw new IOException("volume=" + spec.volume() + " source " + path + " does not exist at site " + spec.sourceSite());
    }
    this.source = FileChannel.open(path, StandardOpenOption.READ);
    long size = Files.isRegularFile(path) ? source.size() : blockDeviceSize(path);
    if (size <= 0) {
      source.close();
      throw new IOException("volume=" + spec.volume() + " source " + path + " is empty or its size cannot be read");
    }
    this.sizeBytes = size;
    this.blockSize = spec.blockSizeBytes();
    this.blockCount = (size + blockSize - 1) / blockSize;
    if (blockCount > Integer.MAX_VALUE) {
      source.close();
      throw new IOException("volume=" + spec.volume() + " has " + blockCount + " blocks; at most " + Integer.MAX_VALUE + " are supported: use a larger block size");
    }
    this.hashes = new byte[(int) blockCount][];
    this.predictor = spec.traceFile().isEmpty() ? null : new TracePredictor(AccessTrace.load(Path.of(spec.traceFile())), 3, 256);
    this.arbiter = new StreamArbiter(settings.backgroundShareMin());
    for (FrameKind k : FrameKind.values()) {
      framesSent.put(k, new AtomicLong());
      bytesSent.put(k, new AtomicLong());
    }
    this.plan = new BackgroundPlan(blockCount, settings.neighbourRadius());
    this.onDemand = new OnDemandQueue(settings.onDemandQueueMax());
    this.window = new BackgroundWindow(settings.backgroundCreditsMax(), settings.backgroundWindowBytes(blockSize), blockSize);
    this.senderThread = new Thread(this::sendLoop, "ferry-backend-send-" + spec.volume());
    this.scanThread = new Thread(this::scan, "ferry-backend-scan-" + spec.volume());
    senderThread.setDaemon(true);
    scanThread.setDaemon(true);
    senderThread.start();
    scanThread.start();
  }

  private int credits() {
    return settings.backgroundCredits(blockSize);
  }

  public long sizeBytes() {
    return sizeBytes;
  }

  public int blockSize() {
    return blockSize;
  }

  /**
   * Sets up the block link to where the frontend will be, ahead of its attach (Aeron's connection
   * setup takes a round trip or more).
   */
  public void preconnect(String host, int port) {
    connector.apply(host, port);
  }

  /**
   * A frontend attaches (first time, after its restart, after ours, or after a stall): what it
   * holds is never sent again; what was handed out and did not arrive is sent again.
   */
  public void attach(long attachId, FrontendLink frontend, String host, int port, BitSet present, byte[] channelKey) {
    boolean scannedNow;
    BitSet zerosNow;
    // A new sealer per attach: its counters start again, under a key no earlier attach used.
    FrameSealer newSealer = channelKey == null || channelKey.length == 0 ? null : new FrameSealer(channelKey, spec.volume().key(), attachId, blockSize);
    synchronized (this) {
      this.attachId = attachId;
      this.sealer = newSealer;
      this.frontend = frontend;
      String wanted = host + ":" + port;
      if (sender == null || !endpoint.equals(wanted)) {
        sender = connector.apply(host, port); // shared per endpoint: the member's resources close it
        endpoint = wanted;
      }
      plan = new BackgroundPlan(blockCount, settings.neighbourRadius());
      for (int b = present.nextSetBit(0); b >= 0 && b < blockCount; b = present.nextSetBit(b + 1)) {
        plan.markPresent(b);
      }
      for (int b = zeros.nextSetBit(0); b >= 0; b = zeros.nextSetBit(b + 1)) {
        plan.markZero(b);
      }
      for (int b = hot.nextSetBit(0); b >= 0; b = hot.nextSetBit(b + 1)) {
        plan.markHot(b);
      }
      onDemand = new OnDemandQueue(settings.onDemandQueueMax());
      noRefBlocks.clear();
      window.reset();
      complete = plan.complete();
      scannedNow = scanned;
      zerosNow = (BitSet) zeros.clone();
      notifyAll();
    }
    log.info("volume={} attach={} frontend endpoint={}:{} present={}/{}", spec.volume(), attachId, host, port, present.cardinality(), blockCount);
    frontend.attached(attachId, sizeBytes, blockSize);
    if (scannedNow) {
      frontend.scanned(attachId, zerosNow);
    }
  }

  /** Hashes the target's store already holds: blocks with these hashes cross as REF. */
  public synchronized void knownHashes(byte[] packed) {
    for (int i = 0; i + 32 <= packed.length && targetHashes.size() < TARGET_HASHES_MAX; i += 32) {
      byte[] h = new byte[32];
      System.arraycopy(packed, i, h, 0, 32);
      targetHashes.add(ByteBuffer.wrap(h));
    }
  }

  public synchronized void fetch(long attachId, long[] blocks, boolean noRef) {
    if (attachId != this.attachId) {
      return; // from an earlier attachment: the frontend asks again on the current one
    }
    for (long b : blocks) {
      if (b < 0 || b >= blockCount) {
        log.warn("volume={} fetch for block {} outside 0..{}: ignored", spec.volume(), b, blockCount - 1);
        continue;
      }
      if (noRef) {
        noRefBlocks.add(b);
      }
      if (!onDemand.offer(attachId, b)) {
        onDemandRefused.incrementAndGet(); // the frontend asks again after fetch-timeout
        continue;
      }
      plan.onDemandRead(b);
      if (predictor != null) {
        plan.predicted(predictor.onRead(b));
      }
    }
    notifyAll();
  }

  public synchronized void credit(long attachId, int blocks) {
    if (attachId != this.attachId) {
      return;
    }
    window.credited(blocks);
    notifyAll();
  }

  /** The frontend holds every block: nothing more to send in the background. */
  public synchronized void completed() {
    complete = true;
  }

  /** Pauses or resumes the background copy; kept across attachments. */
  public synchronized void paused(boolean paused) {
    this.paused = paused;
    notifyAll();
  }

  /**
   * The target's writes were applied to these blocks of the source: their scanned hash and zero
   * mark no longer describe them (the sender hashes such a block again when it sends it).
   */
  public synchronized void sourceChanged(long[] blocks) {
    for (long b : blocks) {
      if (b >= 0 && b < blockCount) {
        hashes[(int) b] = null;
        zeros.clear((int) b);
      }
    }
  }

  // ---------------------------------------------------------------- scan

  private void scan() {
    byte[] block = new byte[blockSize];
    MessageDigest sha = Sha256.create();
    try {
      for (long b = 0; b < blockCount && running; b++) {
        readBlock(b, block);
        if (BlockBytes.isZero(block)) {
          synchronized (this) {
            zeros.set((int) b);
            plan.markZero(b);
          }
        } else {
          sha.update(block, 0, blockSize);
          byte[] h = sha.digest();
          hotIndex.add(spec.volume(), h);
          synchronized (this) {
            if (hashes[(int) b] == null) {
              hashes[(int) b] = h;
            }
          }
        }
        blocksScanned.incrementAndGet();
      }
      if (!running) {
        return;
      }
      FrontendLink link;
      long id;
      BitSet z;
      synchronized (this) {
        for (int b = 0; b < blockCount; b++) {
          if (hashes[b] != null && hotIndex.volumesWith(hashes[b]) > 1) {
            hot.set(b);
            plan.markHot(b);
          }
        }
        scanned = true;
        link = frontend;
        id = attachId;
        z = (BitSet) zeros.clone();
      }
      log.info("volume={} source scanned: {} blocks, {} zero, {} hot across volumes", spec.volume(), blockCount, z.cardinality(), hot.cardinality());
      if (link != null) {
        link.scanned(id, z);
      }
    } catch (IOException e) {
      log.error("volume={} source scan failed; blocks are still served as they are asked for", spec.volume(), e);
    }
  }

  // ---------------------------------------------------------------- sender

  private record Work(BlockStream stream, long block, long attachId, boolean noRef, BlockSender sender, FrameSealer sealer) {}

  private Work nextWork() throws InterruptedException {
    long[] one = new long[1];
    synchronized (this) {
      while (running) {
        if (sender != null && attachId >= 0) {
          boolean od = !onDemand.isEmpty();
          boolean bg = settings.backgroundEnabled() && window.open() && !complete && !paused;
          StreamArbiter.Pick pick = arbiter.pick(od, bg);
          if (pick == StreamArbiter.Pick.BACKGROUND) {
            if (plan.next(one, 1) == 1) {
              window.handOut();
              return new Work(BlockStream.BACKGROUND, one[0], attachId, noRefBlocks.remove(one[0]), sender, sealer);
            }
            if (od) {
              pick = StreamArbiter.Pick.ON_DEMAND;
            }
          }
          if (pick == StreamArbiter.Pick.ON_DEMAND) {
            OnDemandQueue.Entry e = onDemand.poll();
            plan.markPresent(e.block());
            return new Work(BlockStream.ON_DEMAND, e.block(), attachId, noRefBlocks.remove(e.block()), sender, sealer);
          }
        }
        wait(50);
      }
    }
    return null;
  }

  private void sendLoop() {
    byte[] block = new byte[blockSize];
    BlockFrameEncoder encoder = new BlockFrameEncoder(blockSize);
    UnsafeBuffer plain = new UnsafeBuffer(ByteBuffer.allocateDirect(BlockFrameEncoder.maxFrameLength(blockSize)));
    UnsafeBuffer sealedOut = new UnsafeBuffer(ByteBuffer.allocateDirect(SealedFrame.maxFrameLength(blockSize)));
    MessageDigest sha = Sha256.create();
    try {
      while (running) {
        Work w = nextWork();
        if (w == null) {
          return;
        }
        readBlock(w.block(), block);
        byte[] h;
        synchronized (this) {
          h = hashes[(int) w.block()];
        }
        if (h == null) {
          sha.update(block, 0, blockSize);
          h = sha.digest();
        }
        boolean targetHas;
        synchronized (this) {
          targetHas = !w.noRef() && targetHashes.contains(ByteBuffer.wrap(h));
        }
        int stream = w.stream() == BlockStream.ON_DEMAND ? 0 : 1;
        int length = encoder.encode(stream, spec.volume().key(), w.attachId(), w.block(), block, blockSize, h, targetHas, plain, 0);
        UnsafeBuffer out = plain;
        if (w.sealer() != null) {
          length = w.sealer().seal(stream, w.block(), plain, 0, length, sealedOut);
          out = sealedOut;
        }
        boolean offered = offer(w, out, length);
        if (w.stream() == BlockStream.BACKGROUND) {
          synchronized (this) {
            if (w.attachId() == attachId) { // a new attachment reset the window: this frame is not on its way
              if (offered) {
                window.sent(length);
              } else {
                window.notSent();
              }
            }
          }
        }
        if (!offered) {
          continue;
        }
        FrameKind kind = encoder.lastKind();
        framesSent.get(kind).incrementAndGet();
        bytesSent.get(kind).addAndGet(length);
        synchronized (this) {
          arbiter.sent(w.stream() == BlockStream.ON_DEMAND ? StreamArbiter.Pick.ON_DEMAND : StreamArbiter.Pick.BACKGROUND, length);
          if ((kind == FrameKind.LZ4 || kind == FrameKind.RAW) && targetHashes.size() < TARGET_HASHES_MAX) {
            targetHashes.add(ByteBuffer.wrap(h));
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      log.error("volume={} reading the source failed; sending stopped", spec.volume(), e);
    }
  }

  /** Offers until Aeron takes the frame; gives up when the attachment changed (it is asked again). */
  private boolean offer(Work w, UnsafeBuffer out, int length) throws InterruptedException {
    long backoffNanos = 10_000;
    while (running) {
      OfferResult r = w.sender().offer(w.stream(), out, 0, length);
      if (r == OfferResult.OK) {
        return true;
      }
      if (r == OfferResult.CLOSED || r == OfferResult.TOO_LONG) {
        log.warn("volume={} block={} not sent: {}", spec.volume(), w.block(), r);
        return false;
      }
      synchronized (this) {
        if (attachId != w.attachId() || sender != w.sender()) {
          return false;
        }
      }
      java.util.concurrent.locks.LockSupport.parkNanos(backoffNanos);
      backoffNanos = Math.min(backoffNanos * 2, 2_000_000);
    }
    return false;
  }

  private void readBlock(long b, byte[] block) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(block);
    long pos = b * blockSize;
    while (buf.hasRemaining()) {
      int n = source.read(buf, pos + buf.position());
      if (n < 0) {
        // The last block of an image whose size is not a multiple of the block size: zero-filled.
        while (buf.hasRemaining()) {
          buf.put((byte) 0);
        }
      }
    }
  }

  // ---------------------------------------------------------------- status

  public BackendStatus status() {
    Map<String, Long> frames = new java.util.TreeMap<>();
    Map<String, Long> bytes = new java.util.TreeMap<>();
    framesSent.forEach((k, v) -> frames.put(k.name(), v.get()));
    bytesSent.forEach((k, v) -> bytes.put(k.name(), v.get()));
    synchronized (this) {
      return new BackendStatus(spec.volume(), sizeBytes, blockSize, blockCount, blocksScanned.get(), scanned, zeros.cardinality(), hot.cardinality(), frames, bytes, onDemandRefused.get(), endpoint, complete);
    }
  }

  /** What the backend sent, by frame kind, and how far its scan got. */
  public record BackendStatus(
      VolumeId volume,
      long sizeBytes,
      int blockSizeBytes,
      long blockCount,
      long blocksScanned,
      boolean scanComplete,
      long zeroBlocks,
      long hotBlocks,
      Map<String, Long> framesSent,
      Map<String, Long> bytesSent,
      long onDemandRefused,
      String frontendEndpoint,
      boolean complete)
      implements io.ferry.persistence.CborSerializable {}

  @Override
  public void close() {
    running = false;
    synchronized (this) {
      notifyAll();
    }
    senderThread.interrupt();
    try {
      senderThread.join(5000);
      scanThread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (this) {
      sender = null;
    }
    try {
      source.close();
    } catch (IOException e) {
      log.warn("volume={} closing the source failed", spec.volume(), e);
    }
    hotIndex.removeVolume(spec.volume());
  }

  /**
   * A block device's size: fstat reports 0 for one, so Linux's sysfs is asked (sectors of 512
   * bytes); 0 when it cannot tell.
   */
  private static long blockDeviceSize(Path device) {
    try {
      Path name = device.toRealPath().getFileName();
      Path sectors = Path.of("/sys/class/block").resolve(name.toString()).resolve("size");
      return Long.parseLong(Files.readString(sectors).trim()) * 512;
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }
}
