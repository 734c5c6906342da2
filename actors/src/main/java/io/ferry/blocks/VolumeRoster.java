package io.ferry.blocks;

import io.ferry.placement.Site;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The volume registry's record of migrations without an actor: which volumes migrate (their
 * specs), which were stopped, and whether a start or a stop may be accepted. The runtime's {@code
 * VolumeRegistry} folds its journal into it and places the volumes' parts; each volume's phases
 * are its frontend's ({@link VolumeMigration}).
 */
public record VolumeRoster(Map<VolumeId, VolumeSpec> running, Set<VolumeId> stopped) {

  public VolumeRoster {
    running = Map.copyOf(running);
    stopped = Set.copyOf(stopped);
  }

  public static VolumeRoster empty() {
    return new VolumeRoster(Map.of(), Set.of());
  }

  /**
   * Why {@code spec} may not start now, or empty when it may. A site counts when it has a live
   * member ({@code liveSites}); its agent may not be known yet, the volume is placed once it is.
   */
  public Optional<String> refuseStart(VolumeSpec spec, Set<Site> liveSites) {
    VolumeId v = spec.volume();
    if (running.containsKey(v)) {
      return Optional.of("volume " + v + " is already migrating");
    }
    if (stopped.contains(v)) {
      return Optional.of("volume " + v + " was migrated before and stopped; start it under a new volume id");
    }
    for (VolumeSpec other : running.values()) {
      if (other.volume().key() == v.key()) {
        // Block frames carry the key, not the name: two volumes with one key would mix their blocks.
        return Optional.of("volume " + v + " has the same frame key as running volume " + other.volume() + "; choose another id");
      }
    }
    if (!liveSites.contains(spec.sourceSite())) {
      return Optional.of("no live member at source site '" + spec.sourceSite() + "' (live sites: " + sorted(liveSites) + ")");
    }
    if (!liveSites.contains(spec.targetSite())) {
      return Optional.of("no live member at target site '" + spec.targetSite() + "' (live sites: " + sorted(liveSites) + ")");
    }
    return Optional.empty();
  }

  /** Why {@code volume} may not stop, or empty when it may. */
  public Optional<String> refuseStop(VolumeId volume) {
    return running.containsKey(volume) ? Optional.empty() : Optional.of("volume " + volume + " is not migrating");
  }

  public VolumeRoster started(VolumeSpec spec) {
    if (running.containsKey(spec.volume()) || stopped.contains(spec.volume())) {
      throw new IllegalStateException("volume " + spec.volume() + " started twice: the registry's journal is out of order");
    }
    Map<VolumeId, VolumeSpec> r = new HashMap<>(running);
    r.put(spec.volume(), spec);
    return new VolumeRoster(r, stopped);
  }

  public VolumeRoster stopped(VolumeId volume) {
    Map<VolumeId, VolumeSpec> r = new HashMap<>(running);
    r.remove(volume);
    Set<VolumeId> s = new HashSet<>(stopped);
    s.add(volume);
    return new VolumeRoster(r, s);
  }

  /** The running migrations by volume id, as listings show them. */
  public List<VolumeSpec> runningInOrder() {
    return running.values().stream().sorted(Comparator.comparing(s -> s.volume().value())).toList();
  }

  private static List<Site> sorted(Set<Site> sites) {
    return sites.stream().sorted().toList();
  }
}
