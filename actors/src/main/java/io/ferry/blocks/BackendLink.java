package io.ferry.blocks;

/**
 * How a frontend reaches its backend: the actor shell implements it with actor messages (delayed
 * like the WAN when emulated), tests with a plain object. Calls may come from any thread.
 */
public interface BackendLink {
  /** Asks for blocks the workload waits on; {@code noRef} when a REF could not be resolved. */
  void fetch(long attachId, long[] blocks, boolean noRef);

  /** Returns background credits: this many background blocks arrived. */
  void credit(long attachId, int blocks);
}
