package io.ferry.query.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import io.ferry.query.Row;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;

/**
 * {@link NodeEvent.BatchProcessed}, the event of every batch, in a compact binary form: its
 * anchors, flags and operator delta as Jackson-CBOR (small, and polymorphic), its output rows as
 * tagged values. Jackson wrote each row as a CBOR array of untyped values, and the JDBC journal
 * actor spent 14 % of a member's CPU in the pipeline bench doing so for every node of the member.
 * Events written before keep their serializer id and are read by Jackson-CBOR as before.
 *
 * <p>Layout: int length of the head, the head (the event without its rows), varint row count,
 * then per row a varint value count and per value a tag byte and its payload.
 */
public final class BatchEventSerializer extends SerializerWithStringManifest {

  /** Pekko serializer id (Ferry's own serializers start at 7100; 7101 is the snapshot's). */
  public static final int ID = 7102;

  static final String MANIFEST = "B1";

  private static final byte NULL = 0;
  private static final byte STRING = 1;
  private static final byte LONG = 2;
  private static final byte DOUBLE = 3;
  private static final byte TRUE = 4;
  private static final byte FALSE = 5;

  private final ObjectMapper cbor;

  public BatchEventSerializer(ExtendedActorSystem system) {
    // The same mapper (settings, modules) the jackson-cbor binding uses, so the head reads as before.
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
    if (!(o instanceof NodeEvent.BatchProcessed e)) {
      throw new IllegalArgumentException("BatchEventSerializer cannot write " + o.getClass().getName());
    }
    NodeEvent.BatchProcessed head =
        new NodeEvent.BatchProcessed(e.upstream(), e.from(), e.next(), e.upstreamDone(), e.delta(), List.of(), e.outputDone());
    try {
      byte[] h = cbor.writeValueAsBytes(head);
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(h.length + 16 + e.outputs().size() * 32);
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeInt(h.length);
      out.write(h);
      writeVarLong(out, e.outputs().size());
      for (Row r : e.outputs()) {
        writeVarLong(out, r.size());
        for (int i = 0; i < r.size(); i++) {
          writeValue(out, r.get(i));
        }
      }
      out.flush();
      return bytes.toByteArray();
    } catch (IOException ex) {
      throw new UncheckedIOException("writing a batch event", ex);
    }
  }

  private static void writeValue(DataOutputStream out, Object v) throws IOException {
    if (v == null) {
      out.writeByte(NULL);
    } else if (v instanceof String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      out.writeByte(STRING);
      writeVarLong(out, b.length);
      out.write(b);
    } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
      // Rows hold LONG values as Long; Jackson read small ones back as Long too (USE_LONG_FOR_INTS).
      out.writeByte(LONG);
      writeVarLong(out, zigZag(((Number) v).longValue()));
    } else if (v instanceof Double || v instanceof Float) {
      out.writeByte(DOUBLE);
      out.writeDouble(((Number) v).doubleValue());
    } else if (v instanceof Boolean b) {
      out.writeByte(b ? TRUE : FALSE);
    } else {
      throw new IllegalArgumentException("a row value must be a String, Long, Double, Boolean or null, got " + v.getClass().getName());
    }
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    if (!MANIFEST.equals(manifest)) {
      throw new NotSerializableException("unknown batch event format '" + manifest + "'");
    }
    try {
      ByteBuffer in = ByteBuffer.wrap(bytes);
      int headLength = in.getInt();
      if (headLength < 0 || headLength > in.remaining()) {
        throw new NotSerializableException("batch event: head of " + headLength + " bytes in " + bytes.length);
      }
      NodeEvent.BatchProcessed head = cbor.readValue(bytes, in.position(), headLength, NodeEvent.BatchProcessed.class);
      in.position(in.position() + headLength);
      // every row and every value takes at least one byte, so a count beyond the bytes left is corrupt
      int rows = checkedSize(readVarLong(in), in.remaining(), "rows");
      List<Row> outputs = new ArrayList<>(rows);
      for (int r = 0; r < rows; r++) {
        Object[] values = new Object[checkedSize(readVarLong(in), in.remaining(), "values of a row")];
        for (int i = 0; i < values.length; i++) {
          values[i] = readValue(in);
        }
        outputs.add(Row.wrap(values));
      }
      if (in.hasRemaining()) {
        throw new NotSerializableException("batch event: " + in.remaining() + " bytes after the last row");
      }
      return new NodeEvent.BatchProcessed(
          head.upstream(), head.from(), head.next(), head.upstreamDone(), head.delta(), outputs, head.outputDone());
    } catch (IOException | RuntimeException e) {
      NotSerializableException n = new NotSerializableException("batch event unreadable: " + e.getMessage());
      n.initCause(e);
      throw n;
    }
  }

  private static Object readValue(ByteBuffer in) throws NotSerializableException {
    byte tag = in.get();
    switch (tag) {
      case NULL:
        return null;
      case STRING:
        int length = checkedSize(readVarLong(in), in.remaining(), "string bytes");
        String s = new String(in.array(), in.arrayOffset() + in.position(), length, StandardCharsets.UTF_8);
        in.position(in.position() + length);
        return s;
      case LONG:
        return unZigZag(readVarLong(in));
      case DOUBLE:
        return in.getDouble();
      case TRUE:
        return Boolean.TRUE;
      case FALSE:
        return Boolean.FALSE;
      default:
        throw new NotSerializableException("batch event: unknown value tag " + tag);
    }
  }

  private static int checkedSize(long size, int max, String what) throws NotSerializableException {
    if (size < 0 || size > max) {
      throw new NotSerializableException("batch event: " + size + " " + what + " with " + max + " bytes left");
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
    throw new NotSerializableException("batch event: a variable-length number runs over 64 bits");
  }
}
