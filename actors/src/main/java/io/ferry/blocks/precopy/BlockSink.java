package io.ferry.blocks.precopy;

import java.io.IOException;

/**
 * Where a pre-copy migration writes the target's copy. Safe from several threads at once; a
 * write returns once the target took it (in order with every later write of the same bytes).
 */
public interface BlockSink extends AutoCloseable {

  void write(long offset, byte[] data, int length) throws IOException;

  /** Every write that returned is durable at the target. */
  void flush() throws IOException;

  @Override
  void close();
}
