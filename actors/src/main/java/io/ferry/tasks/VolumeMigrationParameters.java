package io.ferry.tasks;

import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import java.util.List;
import java.util.Map;

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
  private static final List<String> KNOWN = List.of("volume", "sourceSite", "sourcePath", "targetSite", "blockSizeBytes", "traceFile");

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
    Params.checkKnown(p, KNOWN);
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
