package io.ferry.api;

import io.ferry.blocks.BackendVolume;
import io.ferry.blocks.FrontendVolume;
import io.ferry.blocks.VolumeSpec;
import java.util.Optional;

/**
 * Where a volume migration stands: its phase (COPYING, COPIED, or WAITING while a part has no live
 * member), the NBD URL its target serves it at, and both sides' figures: blocks present, bytes per
 * frame kind, rate and ETA at the frontend; what was scanned and sent at the backend.
 */
public record VolumeStatus(
    VolumeSpec spec,
    String phase,
    String nbdUrl,
    String frontendMember,
    String backendMember,
    Optional<FrontendVolume.FrontendStatus> frontend,
    Optional<BackendVolume.BackendStatus> backend,
    String error) {

  public double percent() {
    return frontend.map(FrontendVolume.FrontendStatus::percent).orElse(0.0);
  }

  public boolean copied() {
    return frontend.map(FrontendVolume.FrontendStatus::complete).orElse(false);
  }
}
