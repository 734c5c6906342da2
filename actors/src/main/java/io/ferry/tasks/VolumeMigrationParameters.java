package io.ferry.tasks;

import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import java.util.Map;
import java.util.Set;

/**
 * The parameters of a {@code volume-migration} task: the volume, where its image is and where it
 * goes. The task starts the migration through the volume API and ends when the target holds every
 * block.
 *
 * <p>Parameters: {@code volume}, {@code sourceSite}, {@code sourcePath}, {@code targetSite}
 * (required), {@code blockSizeBytes} (default 65536), {@code traceFile}.
 */
public record VolumeMigrationParameters(VolumeSpec spec) {
  public static final String NAME = "volume-migration";
  public static final int BLOCK_SIZE_DEFAULT = 64 * 1024;
  private static final Set<String> KNOWN = Set.of("volume", "sourceSite", "sourcePath", "targetSite", "blockSizeBytes", "traceFile");

  public static final TaskKind KIND = new TaskKind() {
    @Override
    public String name() {
      return NAME;
    }

    @Override
    public void validate(Map<String, String> parameters) {
      parse(parameters);
    }
  };

  public static VolumeMigrationParameters parse(Map<String, String> p) {
    for (String k : p.keySet()) {
      if (!KNOWN.contains(k)) {
        throw new IllegalArgumentException("unknown parameter '" + k + "' (known: volume, sourceSite, sourcePath, targetSite, blockSizeBytes, traceFile)");
      }
    }
    for (String k : new String[] {"volume", "sourceSite", "sourcePath", "targetSite"}) {
      if (p.get(k) == null || p.get(k).isBlank()) {
        throw new IllegalArgumentException("parameter '" + k + "' is missing");
      }
    }
    int block = (int) Params.longIn(p, "blockSizeBytes", BLOCK_SIZE_DEFAULT, 1, Integer.MAX_VALUE);
    return new VolumeMigrationParameters(new VolumeSpec(
        new VolumeId(p.get("volume")), p.get("sourceSite"), p.get("sourcePath"), p.get("targetSite"), block, p.getOrDefault("traceFile", "")));
  }
}
