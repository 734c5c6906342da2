package io.ferry.persistence.blocks.internal;

/**
 * The on-disk formats of the block store, written down in one place. Integers are big-endian.
 *
 * <p>Data segment {@code data-NNNNNNNN.seg}: block records back to back, nothing else.
 *
 * <pre>
 * off size field
 *   0    4 magic 0x46424C4B ("FBLK")
 *   4    1 version, 1
 *   5    1 flags: bit 0 = payload is an LZ4 block (otherwise the raw bytes)
 *   6    2 reserved, 0
 *   8    4 storedLength: payload bytes
 *  12    4 rawLength: block bytes once decompressed
 *  16   32 SHA-256 of the raw block
 *  48    4 CRC32C of bytes [0, 48) followed by the payload
 *  52    n payload
 * </pre>
 *
 * <p>Index log {@code index.log}: an 8-byte file header (magic 0x46494458 "FIDX", version byte 1,
 * 3 reserved bytes), then records:
 *
 * <pre>
 * off size field
 *   0    4 CRC32C of bytes [4, 8 + bodyLength)
 *   4    1 type
 *   5    1 flags: bit 0 = localWrite (MAP_DATA, MAP_ZERO)
 *   6    2 bodyLength
 *   8    n body
 *
 * type body
 *    1 VOLUME         volumeId u32, sizeBytes i64, blockSizeBytes i32, nameLength u16, name UTF-8
 *    2 MAP_DATA       volumeId u32, blockIndex i64, sha256 32 bytes
 *    3 MAP_ZERO       volumeId u32, blockIndex i64
 *    4 DELETE_VOLUME  volumeId u32
 * </pre>
 *
 * <p>A data record is always written before the index record that points at it. Recovery keeps
 * the longest valid prefix of the index log and drops MAP_DATA records whose block is missing.
 */
public final class RecordFormat {

  public static final int DATA_MAGIC = 0x46424C4B;
  public static final byte DATA_VERSION = 1;
  public static final int DATA_FLAG_LZ4 = 1;
  public static final int DATA_HEADER_BYTES = 52;
  public static final int DATA_CRC_OFFSET = 48;

  public static final int INDEX_MAGIC = 0x46494458;
  public static final byte INDEX_VERSION = 1;
  public static final int INDEX_FILE_HEADER_BYTES = 8;
  public static final int INDEX_RECORD_HEADER_BYTES = 8;
  public static final int INDEX_FLAG_LOCAL_WRITE = 1;

  public static final byte TYPE_VOLUME = 1;
  public static final byte TYPE_MAP_DATA = 2;
  public static final byte TYPE_MAP_ZERO = 3;
  public static final byte TYPE_DELETE_VOLUME = 4;

  public static final int VOLUME_NAME_BYTES_MAX = 1024;
  public static final int MAP_DATA_BODY_BYTES = 4 + 8 + 32;
  public static final int MAP_ZERO_BODY_BYTES = 4 + 8;
  public static final int DELETE_VOLUME_BODY_BYTES = 4;
  public static final int VOLUME_BODY_BYTES_FIXED = 4 + 8 + 4 + 2;
  public static final int INDEX_BODY_BYTES_MAX = VOLUME_BODY_BYTES_FIXED + VOLUME_NAME_BYTES_MAX;

  public static final int SHA256_BYTES = 32;

  private RecordFormat() {}

  public static String segmentFileName(int segment) {
    return String.format("data-%08d.seg", segment);
  }
}
