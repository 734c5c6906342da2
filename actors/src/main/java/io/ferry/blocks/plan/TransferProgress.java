package io.ferry.blocks.plan;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Progress of one volume's transfer, for status replies and metrics: blocks present, bytes sent per kind, rate and ETA.
 * Time is passed in (nanoseconds from one monotonic clock), never read here, so tests and the simulator control it.
 *
 * <p>Rates are exponentially weighted over {@code rateWindow}: each send adds {@code bytes / window} and the estimate
 * decays by {@code e^(-dt / window)}, which converges to the true rate of a steady stream. The ETA divides the
 * logical bytes still missing by the logical rate, so compression and references shorten it as they should.
 */
public final class TransferProgress {
  /** How a block crossed the wire; the names are those the backend reports. */
  public static final String ZERO = "ZERO";
  public static final String REF = "REF";
  public static final String LZ4 = "LZ4";
  public static final String RAW = "RAW";
  public static final Duration RATE_WINDOW_DEFAULT = Duration.ofSeconds(5);

  private static final String[] KINDS = {ZERO, REF, LZ4, RAW};
  private static final double NANOS_PER_SECOND = 1e9;

  private final long blockCount;
  private final int blockSizeBytes;
  private final double windowNanos;
  private final long[] wireBytesByKind = new long[KINDS.length];
  private final long[] blocksByKind = new long[KINDS.length];
  private long presentBlocks;
  private long wireBytes;
  private long logicalBytes;
  /** Rate estimates in bytes per second as of {@link #lastNanos}. */
  private double wireRate;
  private double logicalRate;
  private long lastNanos;
  private boolean started;

  public TransferProgress(long blockCount, int blockSizeBytes) {
    this(blockCount, blockSizeBytes, RATE_WINDOW_DEFAULT);
  }

  public TransferProgress(long blockCount, int blockSizeBytes, Duration rateWindow) {
    if (blockCount < 0) {
      throw new IllegalArgumentException("block count must be >= 0, got " + blockCount);
    }
    Geometry.checkBlockSize(blockSizeBytes);
    if (rateWindow.isNegative() || rateWindow.isZero()) {
      throw new IllegalArgumentException("progress rate window must be > 0, got " + rateWindow);
    }
    this.blockCount = blockCount;
    this.blockSizeBytes = blockSizeBytes;
    this.windowNanos = rateWindow.toNanos();
  }

  /** The number of blocks present at the target now (absolute, zero blocks included), e.g. from the block plan. */
  public void present(long blocks) {
    if (blocks < 0 || blocks > blockCount) {
      throw new IllegalArgumentException("present blocks must be between 0 and " + blockCount + ", got " + blocks);
    }
    presentBlocks = blocks;
  }

  /** One block sent as {@code kind}: {@code wireBytes} crossed the link for {@code logicalBytes} of volume data. */
  public void sent(String kind, long wireBytes, long logicalBytes, long nowNanos) {
    int k = kindIndex(kind);
    if (wireBytes < 0 || logicalBytes < 0) {
      throw new IllegalArgumentException(
          "bytes sent must be >= 0, got wire " + wireBytes + " logical " + logicalBytes);
    }
    if (started && nowNanos < lastNanos) {
      throw new IllegalArgumentException("time went backwards: " + nowNanos + " < " + lastNanos + " ns");
    }
    double decay = started ? Math.exp(-(nowNanos - lastNanos) / windowNanos) : 1.0;
    double perByte = NANOS_PER_SECOND / windowNanos;
    wireRate = wireRate * decay + wireBytes * perByte;
    logicalRate = logicalRate * decay + logicalBytes * perByte;
    lastNanos = nowNanos;
    started = true;
    wireBytesByKind[k] += wireBytes;
    blocksByKind[k]++;
    this.wireBytes += wireBytes;
    this.logicalBytes += logicalBytes;
  }

  /** Percent of blocks present, 0 to 100; an empty volume is complete. */
  public double percent() {
    return blockCount == 0 ? 100.0 : 100.0 * presentBlocks / blockCount;
  }

  /** Wire bytes sent as {@code kind}. */
  public long bytesSent(String kind) {
    return wireBytesByKind[kindIndex(kind)];
  }

  public long blocksSent(String kind) {
    return blocksByKind[kindIndex(kind)];
  }

  public long wireBytes() {
    return wireBytes;
  }

  public long logicalBytes() {
    return logicalBytes;
  }

  /** Wire bytes per second; a time before the last send counts as the time of that send. */
  public double rateBytesPerSecond(long nowNanos) {
    return wireRate * decaySince(nowNanos);
  }

  public double logicalRateBytesPerSecond(long nowNanos) {
    return logicalRate * decaySince(nowNanos);
  }

  /** Time left at the current logical rate; zero when complete, empty when nothing is moving. */
  public Optional<Duration> eta(long nowNanos) {
    long missing = blockCount - presentBlocks;
    if (missing == 0) {
      return Optional.of(Duration.ZERO);
    }
    double rate = logicalRateBytesPerSecond(nowNanos);
    if (!(rate >= 1.0)) {
      return Optional.empty();
    }
    double seconds = (double) missing * blockSizeBytes / rate;
    if (seconds > Long.MAX_VALUE / NANOS_PER_SECOND) {
      return Optional.empty();
    }
    return Optional.of(Duration.ofNanos((long) (seconds * NANOS_PER_SECOND)));
  }

  /** Everything above as one map for a status reply, in a stable order. */
  public Map<String, Object> snapshot(long nowNanos) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("blocks", blockCount);
    m.put("blockSizeBytes", blockSizeBytes);
    m.put("presentBlocks", presentBlocks);
    m.put("percent", percent());
    for (int k = 0; k < KINDS.length; k++) {
      String name = KINDS[k].toLowerCase(Locale.ROOT);
      m.put(name + "Blocks", blocksByKind[k]);
      m.put(name + "Bytes", wireBytesByKind[k]);
    }
    m.put("wireBytes", wireBytes);
    m.put("logicalBytes", logicalBytes);
    m.put("rateBytesPerSecond", rateBytesPerSecond(nowNanos));
    m.put("logicalRateBytesPerSecond", logicalRateBytesPerSecond(nowNanos));
    eta(nowNanos).ifPresent(d -> m.put("etaSeconds", d.toMillis() / 1000.0));
    return m;
  }

  private double decaySince(long nowNanos) {
    if (!started || nowNanos <= lastNanos) {
      return 1.0;
    }
    return Math.exp(-(nowNanos - lastNanos) / windowNanos);
  }

  private static int kindIndex(String kind) {
    for (int k = 0; k < KINDS.length; k++) {
      if (KINDS[k].equals(kind)) {
        return k;
      }
    }
    throw new IllegalArgumentException("block kind must be one of ZERO, REF, LZ4, RAW, got " + kind);
  }
}
