package io.ferry.blocks;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Which block hashes appear in how many volumes at this source member; a hash in several volumes
 * (a shared OS base image, say) is "hot" and is copied early, since the target can then REF it for
 * every other volume. Shared by the backends of one member; thread-safe.
 */
public final class SourceHashIndex {
  private final Map<ByteBuffer, Set<VolumeId>> volumes = new HashMap<>();
  private final int hashesMax;

  /** @param hashesMax distinct hashes kept (beyond it new hashes are not tracked: a limit on memory) */
  public SourceHashIndex(int hashesMax) {
    this.hashesMax = hashesMax;
  }

  public synchronized void add(VolumeId volume, byte[] sha256) {
    ByteBuffer key = ByteBuffer.wrap(sha256.clone());
    Set<VolumeId> set = volumes.get(key);
    if (set == null) {
      if (volumes.size() >= hashesMax) {
        return;
      }
      set = new HashSet<>(2);
      volumes.put(key, set);
    }
    set.add(volume);
  }

  public synchronized int volumesWith(byte[] sha256) {
    Set<VolumeId> set = volumes.get(ByteBuffer.wrap(sha256));
    return set == null ? 0 : set.size();
  }

  public synchronized void removeVolume(VolumeId volume) {
    volumes.values().removeIf(set -> set.remove(volume) && set.isEmpty());
  }
}
