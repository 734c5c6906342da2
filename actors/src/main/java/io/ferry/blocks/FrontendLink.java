package io.ferry.blocks;

import java.util.BitSet;

/** How a backend answers its frontend (actor messages in the shell; plain objects in tests). */
public interface FrontendLink {
  /** The attachment is accepted: the volume's geometry, so the frontend can serve its export. */
  void attached(long attachId, long sizeBytes, int blockSizeBytes);

  /** The source scan finished: these blocks are all zero and never cross as data. */
  void scanned(long attachId, BitSet zeroBlocks);
}
