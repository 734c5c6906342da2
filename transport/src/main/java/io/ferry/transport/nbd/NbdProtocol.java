package io.ferry.transport.nbd;

import java.nio.charset.StandardCharsets;

/**
 * The NBD wire format in one place: magics, flags, options, commands and errors of the fixed
 * newstyle protocol, as written in doc/proto.md of NetworkBlockDevice/nbd. All integers on the
 * wire are big-endian.
 *
 * <pre>
 * Handshake (server first)
 *   S: u64 NBDMAGIC, u64 IHAVEOPT, u16 handshake flags        C: u32 client flags
 *   C: u64 IHAVEOPT, u32 option, u32 length, data[length]     (repeated)
 *   S: u64 OPTION_REPLY_MAGIC, u32 option, u32 reply type, u32 length, data[length]
 *   NBD_OPT_EXPORT_NAME answer (no reply header): u64 size, u16 transmission flags, 124 zero bytes
 *     unless NO_ZEROES was agreed
 * Transmission
 *   C: u32 REQUEST_MAGIC, u16 command flags, u16 type, u64 cookie, u64 offset, u32 length,
 *      data[length] for WRITE only                            (28-byte header)
 *   S simple:     u32 SIMPLE_REPLY_MAGIC, u32 error, u64 cookie, data[length] for a good READ
 *   S structured: u32 STRUCTURED_REPLY_MAGIC, u16 flags, u16 type, u64 cookie, u32 length, payload
 *     OFFSET_DATA payload:  u64 offset, data
 *     BLOCK_STATUS payload: u32 context id, then (u32 extent length, u32 status flags) repeated
 *     ERROR payload:        u32 error, u16 message length, message
 * </pre>
 */
public final class NbdProtocol {

    private NbdProtocol() {
    }

    // Magics
    public static final long NBDMAGIC = 0x4e42444d41474943L;           // "NBDMAGIC"
    public static final long IHAVEOPT = 0x49484156454F5054L;           // "IHAVEOPT"
    public static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    public static final int REQUEST_MAGIC = 0x25609513;
    public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

    // Handshake flags (u16, server) and client flags (u32)
    public static final int FLAG_FIXED_NEWSTYLE = 1;
    public static final int FLAG_NO_ZEROES = 1 << 1;
    public static final int FLAG_C_FIXED_NEWSTYLE = 1;
    public static final int FLAG_C_NO_ZEROES = 1 << 1;

    // Transmission flags (u16)
    public static final int FLAG_HAS_FLAGS = 1;
    public static final int FLAG_READ_ONLY = 1 << 1;
    public static final int FLAG_SEND_FLUSH = 1 << 2;
    public static final int FLAG_SEND_FUA = 1 << 3;
    public static final int FLAG_ROTATIONAL = 1 << 4;
    public static final int FLAG_SEND_TRIM = 1 << 5;
    public static final int FLAG_SEND_WRITE_ZEROES = 1 << 6;
    public static final int FLAG_SEND_DF = 1 << 7;
    public static final int FLAG_CAN_MULTI_CONN = 1 << 8;
    public static final int FLAG_SEND_CACHE = 1 << 10;
    public static final int FLAG_SEND_FAST_ZERO = 1 << 11;

    // Options (u32)
    public static final int OPT_EXPORT_NAME = 1;
    public static final int OPT_ABORT = 2;
    public static final int OPT_LIST = 3;
    public static final int OPT_STARTTLS = 5;
    public static final int OPT_INFO = 6;
    public static final int OPT_GO = 7;
    public static final int OPT_STRUCTURED_REPLY = 8;
    public static final int OPT_LIST_META_CONTEXT = 9;
    public static final int OPT_SET_META_CONTEXT = 10;

    // Option reply types (u32); errors have bit 31 set
    public static final int REP_ACK = 1;
    public static final int REP_SERVER = 2;
    public static final int REP_INFO = 3;
    public static final int REP_META_CONTEXT = 4;
    public static final int REP_ERR_UNSUP = 0x80000001;
    public static final int REP_ERR_POLICY = 0x80000002;
    public static final int REP_ERR_INVALID = 0x80000003;
    public static final int REP_ERR_PLATFORM = 0x80000004;
    public static final int REP_ERR_TLS_REQD = 0x80000005;
    public static final int REP_ERR_UNKNOWN = 0x80000006;
    public static final int REP_ERR_SHUTDOWN = 0x80000007;
    public static final int REP_ERR_BLOCK_SIZE_REQD = 0x80000008;
    public static final int REP_ERR_TOO_BIG = 0x80000009;

    // NBD_REP_INFO types (u16)
    public static final int INFO_EXPORT = 0;
    public static final int INFO_NAME = 1;
    public static final int INFO_DESCRIPTION = 2;
    public static final int INFO_BLOCK_SIZE = 3;

    // Commands (u16)
    public static final int CMD_READ = 0;
    public static final int CMD_WRITE = 1;
    public static final int CMD_DISC = 2;
    public static final int CMD_FLUSH = 3;
    public static final int CMD_TRIM = 4;
    public static final int CMD_CACHE = 5;
    public static final int CMD_WRITE_ZEROES = 6;
    public static final int CMD_BLOCK_STATUS = 7;

    // Command flags (u16)
    public static final int CMD_FLAG_FUA = 1;
    public static final int CMD_FLAG_NO_HOLE = 1 << 1;
    public static final int CMD_FLAG_DF = 1 << 2;
    public static final int CMD_FLAG_REQ_ONE = 1 << 3;
    public static final int CMD_FLAG_FAST_ZERO = 1 << 4;

    // Structured reply flags and chunk types (u16); error chunks have bit 15 set
    public static final int REPLY_FLAG_DONE = 1;
    public static final int REPLY_TYPE_NONE = 0;
    public static final int REPLY_TYPE_OFFSET_DATA = 1;
    public static final int REPLY_TYPE_OFFSET_HOLE = 2;
    public static final int REPLY_TYPE_BLOCK_STATUS = 5;
    public static final int REPLY_TYPE_ERROR = 0x8001;
    public static final int REPLY_TYPE_ERROR_OFFSET = 0x8002;

    // Errors (u32) in replies
    public static final int EPERM = 1;
    public static final int EIO = 5;
    public static final int ENOMEM = 12;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EOVERFLOW = 75;
    public static final int ENOTSUP = 95;
    public static final int ESHUTDOWN = 108;

    // base:allocation status flags (u32)
    public static final int STATE_HOLE = 1;
    public static final int STATE_ZERO = 1 << 1;

    public static final String CONTEXT_BASE_ALLOCATION = "base:allocation";
    public static final byte[] CONTEXT_BASE_ALLOCATION_BYTES =
            CONTEXT_BASE_ALLOCATION.getBytes(StandardCharsets.UTF_8);

    /** The spec's limit on any string on the wire (export names, queries, messages). */
    public static final int STRING_BYTES_MAX = 4096;
    public static final int REQUEST_HEADER_BYTES = 28;
    /** Spec: a block-status chunk should carry no more than 2^20 descriptors. */
    public static final int BLOCK_STATUS_EXTENTS_MAX = 1 << 20;
}
