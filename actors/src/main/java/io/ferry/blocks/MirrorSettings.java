package io.ferry.blocks;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Locale;

/**
 * What a clustered volume's primary does with a write while it has no mirror ({@code
 * ferry.blocks.mirror}). Errors name the setting.
 *
 * @param unmirrored {@code hold} (the default: the write waits for a new mirror to hold it) or
 *     {@code degraded} (the primary alone acknowledges it, and the status counts it)
 * @param holdLimit under {@code hold}, how long a write waits for a mirror before it fails with an I/O error
 */
public record MirrorSettings(MirrorLink.Unmirrored unmirrored, Duration holdLimit) {

  public MirrorSettings {
    if (holdLimit.toMillis() < 1) {
      throw new IllegalArgumentException("ferry.blocks.mirror.hold-limit must be positive, got " + holdLimit);
    }
  }

  public static MirrorSettings from(Config config) {
    Config c = config.getConfig("ferry.blocks.mirror");
    String mode = c.getString("unmirrored-writes");
    MirrorLink.Unmirrored unmirrored = switch (mode.toLowerCase(Locale.ROOT)) {
      case "hold" -> MirrorLink.Unmirrored.HOLD;
      case "degraded" -> MirrorLink.Unmirrored.DEGRADED;
      default -> throw new IllegalArgumentException("ferry.blocks.mirror.unmirrored-writes must be hold or degraded, got " + mode);
    };
    return new MirrorSettings(unmirrored, c.getDuration("hold-limit"));
  }
}
