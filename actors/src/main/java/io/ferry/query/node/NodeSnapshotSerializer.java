package io.ferry.query.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import io.ferry.query.ops.WindowAcc;
import io.ferry.query.ops.WindowState;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;

/**
 * A node snapshot in a compact binary form: the checkpoint a move writes at its stop and the target
 * reads back, so its size and coding speed are the pause of a node with large state.
 *
 * <p>Jackson-CBOR wrote every window accumulator as a map with its field names and boxed lists
 * (~100 bytes each; 150,000 keys gave a 15 MB snapshot and ~0.5 s each way). Here a window's
 * accumulators are written as columns of plain values: the window start as the difference to the
 * previous accumulator's (they come in window order, so mostly 0), numbers as variable-length
 * integers. Everything else of the snapshot (spec, anchors, retained rows, other operators' state)
 * is small or already compact and stays Jackson-CBOR, inside this format, so it keeps its own
 * evolution rules. Snapshots written before this serializer existed keep their serializer id in
 * the store and are read by Jackson-CBOR as before.
 *
 * <p>Layout (manifest {@value #MANIFEST}): int length + CBOR of the snapshot without its window
 * state; byte 1 if a window state follows, then maxEventTime, lateDropped, nullDropped, the
 * accumulator count and the accumulators.
 */
public final class NodeSnapshotSerializer extends SerializerWithStringManifest {

  /** Pekko serializer id (Pekko reserves 0-40; Ferry's own serializers start at 7100). */
  public static final int ID = 7101;

  static final String MANIFEST = "S1";

  /** Aggregates of one accumulator; an operator has a handful, so a larger number is a corrupt snapshot. */
  private static final int AGGREGATES_MAX = 1024;

  private final ObjectMapper cbor;

  public NodeSnapshotSerializer(ExtendedActorSystem system) {
    // The same mapper (settings, modules) the jackson-cbor binding uses, so the inner part reads as before.
    this.cbor = JacksonObjectMapperProvider.get(system).getOrCreate("jackson-cbor", Optional.of(new CBORFactory()));
  }

  @Override
  public int identifier() {
    return ID;
  }

  @Override
  public String manifest(Object o) {
    return MANIFEST;
  }

  @Override
  public byte[] toBinary(Object o) {
    if (!(o instanceof NodeSnapshot s)) {
      throw new IllegalArgumentException("NodeSnapshotSerializer cannot write " + o.getClass().getName());
    }
    WindowState window = s.operatorState() instanceof WindowState w ? w : null;
    NodeSnapshot rest = window == null ? s : withOperatorState(s, null);
    try {
      byte[] head = cbor.writeValueAsBytes(rest);
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(head.length + 16 + (window == null ? 0 : window.open().size() * 24));
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeInt(head.length);
      out.write(head);
      out.writeBoolean(window != null);
      if (window != null) {
        writeWindow(out, window);
      }
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException("writing a node snapshot", e);
    }
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    if (!MANIFEST.equals(manifest)) {
      throw new NotSerializableException("unknown node snapshot format '" + manifest + "'");
    }
    try {
      ByteBuffer in = ByteBuffer.wrap(bytes);
      int headLength = in.getInt();
      if (headLength < 0 || headLength > in.remaining()) {
        throw new NotSerializableException("node snapshot: head of " + headLength + " bytes in " + bytes.length);
      }
      NodeSnapshot head = cbor.readValue(bytes, in.position(), headLength, NodeSnapshot.class);
      in.position(in.position() + headLength);
      if (in.get() == 0) {
        return head;
      }
      return withOperatorState(head, readWindow(in));
    } catch (IOException | RuntimeException e) {
      NotSerializableException n = new NotSerializableException("node snapshot unreadable: " + e.getMessage());
      n.initCause(e);
      throw n;
    }
  }

  private static NodeSnapshot withOperatorState(NodeSnapshot s, WindowState window) {
    return new NodeSnapshot(s.spec(), s.deploymentId(), s.inputAnchors(), s.inputsDone(), s.outputBase(), s.retained(),
        s.outputDone(), s.retired(), s.pausedBy(), window, s.endedMigrations());
  }

  private static void writeWindow(DataOutputStream out, WindowState w) throws IOException {
    out.writeLong(w.maxEventTime());
    writeVarLong(out, w.lateDropped());
    writeVarLong(out, w.nullDropped());
    writeVarLong(out, w.open().size());
    long previousStart = 0;
    for (WindowAcc a : w.open()) {
      writeVarLong(out, zigZag(a.windowStart() - previousStart));
      previousStart = a.windowStart();
      if (a.key() == null) {
        out.writeByte(0);
      } else {
        byte[] key = a.key().getBytes(StandardCharsets.UTF_8);
        writeVarLong(out, key.length + 1L);
        out.write(key);
      }
      writeVarLong(out, a.count());
      writeVarLong(out, a.nonNull().size());
      for (long v : a.nonNull()) {
        writeVarLong(out, v);
      }
      writeVarLong(out, a.longs().size());
      for (long v : a.longs()) {
        writeVarLong(out, zigZag(v));
      }
      writeVarLong(out, a.doubles().size());
      for (double v : a.doubles()) {
        out.writeDouble(v);
      }
    }
  }

  private static WindowState readWindow(ByteBuffer in) throws NotSerializableException {
    long maxEventTime = in.getLong();
    long lateDropped = readVarLong(in);
    long nullDropped = readVarLong(in);
    long n = readVarLong(in);
    // Every accumulator takes at least six bytes: a count beyond that is a corrupt snapshot, not an allocation.
    if (n < 0 || n > in.remaining() / 6) {
      throw new NotSerializableException("node snapshot: " + n + " window accumulators in " + in.remaining() + " bytes");
    }
    WindowAcc[] open = new WindowAcc[(int) n];
    long start = 0;
    for (long i = 0; i < n; i++) {
      start += unZigZag(readVarLong(in));
      long keyLength = readVarLong(in);
      String key = null;
      if (keyLength > 0) {
        int length = checkedSize(keyLength - 1, in.remaining(), "key bytes");
        key = new String(in.array(), in.position(), length, StandardCharsets.UTF_8);
        in.position(in.position() + length);
      }
      long count = readVarLong(in);
      // Arrays wrapped once as immutable lists, which WindowAcc (List.copyOf) and WindowState keep
      // as they are: growing lists copied again cost six collections per accumulator on the restore
      // of a moved node (900,000 for 150,000 keys), inside its pause.
      Long[] nonNull = new Long[checkedSize(readVarLong(in), AGGREGATES_MAX, "aggregates")];
      for (int k = 0; k < nonNull.length; k++) {
        nonNull[k] = readVarLong(in);
      }
      Long[] longs = new Long[checkedSize(readVarLong(in), AGGREGATES_MAX, "aggregates")];
      for (int k = 0; k < longs.length; k++) {
        longs[k] = unZigZag(readVarLong(in));
      }
      Double[] doubles = new Double[checkedSize(readVarLong(in), AGGREGATES_MAX, "aggregates")];
      for (int k = 0; k < doubles.length; k++) {
        doubles[k] = in.getDouble();
      }
      open[(int) i] = new WindowAcc(start, key, count, List.of(nonNull), List.of(longs), List.of(doubles));
    }
    return new WindowState(maxEventTime, lateDropped, nullDropped, List.of(open));
  }

  private static int checkedSize(long size, int max, String what) throws NotSerializableException {
    if (size < 0 || size > max) {
      throw new NotSerializableException("node snapshot: " + size + " " + what + " (at most " + max + ")");
    }
    return (int) size;
  }

  private static long zigZag(long v) {
    return (v << 1) ^ (v >> 63);
  }

  private static long unZigZag(long v) {
    return (v >>> 1) ^ -(v & 1);
  }

  /** Unsigned LEB128: seven bits a byte, low first. */
  private static void writeVarLong(DataOutputStream out, long v) throws IOException {
    while ((v & ~0x7FL) != 0) {
      out.writeByte((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.writeByte((int) v);
  }

  private static long readVarLong(ByteBuffer in) throws NotSerializableException {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      byte b = in.get();
      v |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return v;
      }
    }
    throw new NotSerializableException("node snapshot: a variable-length number runs over 64 bits");
  }
}
