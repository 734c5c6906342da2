package io.ferry.blocks;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Limits and timings of volume migration on one member, read once from {@code ferry.blocks} and
 * checked; errors name the setting.
 *
 * @param blockSizeBytes default block size of a volume migration that does not name one
 * @param blockSizeMaxBytes largest block size a volume may use on this member (sizes Aeron's terms)
 * @param nbdHost interface the member's NBD server listens on ("" = the member's host)
 * @param nbdPort TCP port of the member's NBD server (0 = any free port)
 * @param nbdConnectionsMax NBD connections served at once
 * @param nbdInFlightMax NBD requests in flight per connection
 * @param nbdRequestBytesMax largest NBD read or write
 * @param aeronPort UDP port the member receives block data on (0 = any free port)
 * @param linkBandwidthBitsPerSecond the bandwidth the Aeron windows are sized for
 * @param linkRtt the round trip the Aeron windows are sized for
 * @param emulateOneWayDelay emulated WAN delay each way on block links and control messages (0 = none)
 * @param emulateBandwidthBitsPerSecond emulated WAN bandwidth of outbound block links (0 = unlimited)
 * @param emulateLossRate emulated datagram loss on outbound block links (0..1)
 * @param fetchBlocksMax blocks in one on-demand fetch request
 * @param fetchTimeout an on-demand fetch not answered within this is sent again
 * @param readTimeout a workload read that cannot be served within this fails with EIO
 * @param onDemandQueueMax on-demand blocks the backend queues per volume
 * @param backgroundEnabled whether the background copy runs (off: blocks move only when read)
 * @param backgroundCreditsMax background blocks handed out and not yet received, per volume
 * @param backgroundStall with credits out and no background block arriving for this long, the
 *     frontend re-attaches (the backend requeues what it handed out)
 * @param backgroundShareMin share of the sender's bytes background keeps under on-demand load
 * @param neighbourRadius blocks either side of an on-demand read that the background copy moves up
 * @param progressLogInterval how often a running migration logs its progress
 * @param backgroundTurnaround link time the backend adds to its background window in bytes, for
 *     the frontend's and the control path's delay in returning credits on a busy machine
 */
public record BlockSettings(
    int blockSizeBytes,
    int blockSizeMaxBytes,
    String nbdHost,
    int nbdPort,
    int nbdConnectionsMax,
    int nbdInFlightMax,
    int nbdRequestBytesMax,
    int aeronPort,
    long linkBandwidthBitsPerSecond,
    Duration linkRtt,
    Duration emulateOneWayDelay,
    long emulateBandwidthBitsPerSecond,
    double emulateLossRate,
    int fetchBlocksMax,
    Duration fetchTimeout,
    Duration readTimeout,
    int onDemandQueueMax,
    boolean backgroundEnabled,
    int backgroundCreditsMax,
    Duration backgroundStall,
    double backgroundShareMin,
    int neighbourRadius,
    Duration progressLogInterval,
    Duration backgroundTurnaround) {

  public BlockSettings {
    VolumeSpec.checkBlockSize(blockSizeBytes);
    VolumeSpec.checkBlockSize(blockSizeMaxBytes);
    require(blockSizeBytes <= blockSizeMaxBytes, "block-size (" + blockSizeBytes + ") must not exceed block-size-max (" + blockSizeMaxBytes + ")");
    require(nbdPort >= 0 && nbdPort <= 65535, "nbd.port must be 0..65535, got " + nbdPort);
    require(aeronPort >= 0 && aeronPort <= 65535, "aeron.port must be 0..65535, got " + aeronPort);
    require(nbdConnectionsMax >= 1, "nbd.connections-max must be >= 1, got " + nbdConnectionsMax);
    require(nbdInFlightMax >= 1 && nbdInFlightMax <= 1024, "nbd.in-flight-max must be 1..1024, got " + nbdInFlightMax);
    require(nbdRequestBytesMax >= 4096, "nbd.request-bytes-max must be >= 4 KiB, got " + nbdRequestBytesMax);
    require(linkBandwidthBitsPerSecond > 0, "link.bandwidth must be positive");
    require(!linkRtt.isNegative(), "link.rtt must not be negative");
    require(!emulateOneWayDelay.isNegative(), "emulate.one-way-delay must not be negative");
    require(emulateBandwidthBitsPerSecond >= 0, "emulate.bandwidth must not be negative");
    require(emulateLossRate >= 0 && emulateLossRate <= 1, "emulate.loss must be 0..1, got " + emulateLossRate);
    require(fetchBlocksMax >= 1 && fetchBlocksMax <= 4096, "on-demand.fetch-blocks-max must be 1..4096, got " + fetchBlocksMax);
    require(fetchTimeout.toMillis() >= 1, "on-demand.fetch-timeout must be positive");
    require(readTimeout.compareTo(fetchTimeout) > 0, "on-demand.read-timeout must exceed on-demand.fetch-timeout");
    require(onDemandQueueMax >= fetchBlocksMax, "on-demand.queue-max must be >= fetch-blocks-max, got " + onDemandQueueMax);
    require(backgroundCreditsMax >= 1 && backgroundCreditsMax <= 65536, "background.credits-max must be 1..65536, got " + backgroundCreditsMax);
    require(backgroundStall.toMillis() >= 1, "background.stall-timeout must be positive");
    require(backgroundShareMin >= 0 && backgroundShareMin < 1, "background.share-min must be in [0, 1), got " + backgroundShareMin);
    require(neighbourRadius >= 0 && neighbourRadius <= 4096, "background.neighbour-radius must be 0..4096, got " + neighbourRadius);
    require(progressLogInterval.toMillis() >= 1, "progress-log-interval must be positive");
    require(!backgroundTurnaround.isNegative() && backgroundTurnaround.toMillis() <= 10_000, "background.turnaround must be 0..10s, got " + backgroundTurnaround);
  }

  public static BlockSettings from(Config config) {
    Config c = config.getConfig("ferry.blocks");
    return new BlockSettings(
        VolumeSpec.checkBlockSize(c.getBytes("block-size")),
        VolumeSpec.checkBlockSize(c.getBytes("block-size-max")),
        c.getString("nbd.host"),
        c.getInt("nbd.port"),
        c.getInt("nbd.connections-max"),
        c.getInt("nbd.in-flight-max"),
        (int) Math.min(Integer.MAX_VALUE, c.getBytes("nbd.request-bytes-max")),
        c.getInt("aeron.port"),
        bits(c, "link.bandwidth"),
        c.getDuration("link.rtt"),
        c.getDuration("emulate.one-way-delay"),
        bits(c, "emulate.bandwidth"),
        c.getDouble("emulate.loss"),
        c.getInt("on-demand.fetch-blocks-max"),
        c.getDuration("on-demand.fetch-timeout"),
        c.getDuration("on-demand.read-timeout"),
        c.getInt("on-demand.queue-max"),
        c.getBoolean("background.enabled"),
        c.getInt("background.credits-max"),
        c.getDuration("background.stall-timeout"),
        c.getDouble("background.share-min"),
        c.getInt("background.neighbour-radius"),
        c.getDuration("progress-log-interval"),
        c.getDuration("background.turnaround"));
  }

  /**
   * Background blocks a volume may have on the way: about 1.5 bandwidth-delay products of the
   * link (credits come back one way after the data went the other, so one BDP would only just fill
   * it), at least 4 and at most {@code background.credits-max}. More would fill the link's queue and
   * make on-demand replies wait behind background bytes.
   */
  public int backgroundCredits(int blockSizeBytes) {
    double bdp = linkBandwidthBitsPerSecond / 8.0 * Math.max(1, linkRtt.toNanos()) / 1e9;
    long blocks = (long) Math.ceil(1.5 * bdp / blockSizeBytes);
    return (int) Math.max(4, Math.min(backgroundCreditsMax, blocks));
  }

  /**
   * Background bytes the backend may have on the way: the credits in full blocks plus
   * {@code background.turnaround} of the link's bandwidth. Credits come back through the frontend's
   * receiver and the control path; on a loaded machine each adds tens of milliseconds, and four
   * credits at 50 Mbit/s and 20 ms RTT cover only 12 ms beyond the round trip, so the link idled.
   */
  public long backgroundWindowBytes(int blockSizeBytes) {
    return (long) backgroundCredits(blockSizeBytes) * blockSizeBytes + (long) (linkBandwidthBitsPerSecond / 8.0 * backgroundTurnaround.toNanos() / 1e9);
  }

  /** True when block links and control messages between sites are shaped to emulate a WAN. */
  public boolean emulated() {
    return !emulateOneWayDelay.isZero() || emulateBandwidthBitsPerSecond > 0 || emulateLossRate > 0;
  }

  /** Reads a bandwidth such as "100 Mbit" or "1 Gbit" or a plain number of bits per second. */
  static long bits(Config c, String path) {
    String s = c.getString(path).trim().toLowerCase().replace(" ", "");
    long unit = 1;
    String digits = s;
    if (s.endsWith("gbit")) {
      unit = 1_000_000_000L;
      digits = s.substring(0, s.length() - 4);
    } else if (s.endsWith("mbit")) {
      unit = 1_000_000L;
      digits = s.substring(0, s.length() - 4);
    } else if (s.endsWith("kbit")) {
      unit = 1_000L;
      digits = s.substring(0, s.length() - 4);
    } else if (s.endsWith("bit")) {
      digits = s.substring(0, s.length() - 3);
    }
    try {
      return Math.round(Double.parseDouble(digits) * unit);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("ferry.blocks." + path + " must be a bandwidth such as '100 Mbit' or '1 Gbit', got '" + c.getString(path) + "'");
    }
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("ferry.blocks." + message);
    }
  }
}
