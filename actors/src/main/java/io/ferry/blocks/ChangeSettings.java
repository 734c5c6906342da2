package io.ferry.blocks;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * How the target's writes reach the source ({@code ferry.blocks.changes}): write-back's bounds,
 * the size of one shipped part, and when a convergence pass is small enough to cut over. Errors
 * name the setting.
 *
 * @param rpo write-back ships once the oldest write the source lacks is this old
 * @param batchBytes write-back ships once this many bytes of distinct blocks are pending; one shipment holds at most this
 * @param messageBytes block bytes in one shipped part (a control message: below Artery's frame size)
 * @param partsInFlight parts sent and not yet confirmed by the source, at most
 * @param cutOverThresholdBlocks a convergence pass that shipped at most this many blocks cuts over
 * @param shipTick how often the frontend checks what is due
 */
public record ChangeSettings(Duration rpo, long batchBytes, int messageBytes, int partsInFlight, long cutOverThresholdBlocks, Duration shipTick) {

  public ChangeSettings {
    require(rpo.toMillis() >= 1, "changes.rpo must be positive, got " + rpo);
    require(batchBytes >= 4096, "changes.batch-bytes must be >= 4 KiB, got " + batchBytes);
    require(messageBytes >= 4096 && messageBytes <= 16 << 20, "changes.message-bytes must be 4 KiB..16 MiB, got " + messageBytes);
    require(partsInFlight >= 1 && partsInFlight <= 1024, "changes.parts-in-flight must be 1..1024, got " + partsInFlight);
    require(cutOverThresholdBlocks >= 0, "changes.cut-over-threshold-blocks must not be negative, got " + cutOverThresholdBlocks);
    require(shipTick.toMillis() >= 1, "changes.ship-tick must be positive, got " + shipTick);
  }

  public static ChangeSettings from(Config config) {
    Config c = config.getConfig("ferry.blocks.changes");
    return new ChangeSettings(
        c.getDuration("rpo"),
        c.getBytes("batch-bytes"),
        (int) Math.min(Integer.MAX_VALUE, c.getBytes("message-bytes")),
        c.getInt("parts-in-flight"),
        c.getLong("cut-over-threshold-blocks"),
        c.getDuration("ship-tick"));
  }

  /** Blocks of {@code blockSize} one write-back shipment holds at most. */
  public int batchBlocks(int blockSize) {
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, batchBytes / blockSize));
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("ferry.blocks." + message);
    }
  }
}
