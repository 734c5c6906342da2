package io.ferry.query.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.query.ops.SinkAnchors;
import io.ferry.query.ops.WindowAcc;
import io.ferry.query.ops.WindowState;
import java.io.NotSerializableException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class NodeSnapshotSerializerTest {

  private static ActorTestKit testKit;
  private static Serialization serialization;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create();
    serialization = SerializationExtension.get(org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(testKit.system()));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static NodeSpec windowSpec() {
    NodeId src = new NodeId("src");
    NodeId w = new NodeId("w");
    return new QueryGraph(
            new QueryId("snap"),
            List.of(
                new NodeDef(src, new OperatorSpec.Generate(42, 3, 10, 1_000, 10, 0, 0), List.of()),
                new NodeDef(w, new OperatorSpec.Window("key", "ts", 100, 0,
                    List.of(new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.COUNT, null, "n"),
                        new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.SUM, "value", "total"))), List.of(src)),
                new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(w))))
        .compile().stream().filter(s -> s.id().equals(w)).findFirst().orElseThrow();
  }

  /** {@code keys} accumulators in each of three windows, with negative, huge and fractional values and a null key. */
  private static NodeSnapshot windowSnapshot(int keys) {
    List<WindowAcc> open = new ArrayList<>();
    for (long start : new long[] {-300, 1_700_000_000_000L, 1_700_000_003_600L}) {
      for (int k = 0; k < keys; k++) {
        open.add(new WindowAcc(start, "key-" + k + "-ü", k + 1L, List.of(k + 1L, (long) k), List.of(Long.MIN_VALUE + k, -k * 7L),
            List.of(k / 3.0, Double.NaN)));
      }
    }
    open.add(new WindowAcc(1_700_000_003_600L, null, 1, List.of(), List.of(), List.of()));
    return new NodeSnapshot(windowSpec(), "d1", Map.of("src", 123_456L), List.of(), 17, List.of(Row.of("a", 1L, 2.5, null)),
        false, false, "m-1", new WindowState(Long.MAX_VALUE, 3, 4, open), List.of("m-0"));
  }

  @Test
  void snapshotsAreBoundToTheBinaryFormat() {
    Serializer s = serialization.findSerializerFor(windowSnapshot(1));
    assertEquals(NodeSnapshotSerializer.ID, s.identifier());
  }

  @Test
  void aWindowSnapshotRoundTripsAndIsFarSmallerThanCbor() throws Exception {
    NodeSnapshot snapshot = windowSnapshot(20_000);
    byte[] bytes = serialization.serialize(snapshot).get();
    NodeSnapshot back = (NodeSnapshot) serialization.deserialize(bytes, NodeSnapshotSerializer.ID, NodeSnapshotSerializer.MANIFEST).get();

    assertEquals(snapshot, back);
    byte[] cbor = cborMapper().writeValueAsBytes(snapshot);
    assertTrue(bytes.length * 2 < cbor.length, "binary " + bytes.length + " bytes vs CBOR " + cbor.length);
  }

  @Test
  void snapshotsWithoutWindowStateRoundTrip() {
    NodeSnapshot other = new NodeSnapshot(windowSpec(), "d1", Map.of(), List.of("src"), 0, List.of(), true, true, null,
        new SinkAnchors(Map.of("w", 5L)), null);
    NodeSnapshot empty = new NodeState().snapshot();
    for (NodeSnapshot s : List.of(other, empty)) {
      byte[] bytes = serialization.serialize(s).get();
      assertEquals(s, serialization.deserialize(bytes, NodeSnapshotSerializer.ID, NodeSnapshotSerializer.MANIFEST).get());
    }
  }

  @Test
  void aSnapshotWrittenAsCborBeforeStillReads() throws Exception {
    NodeSnapshot snapshot = windowSnapshot(3);
    byte[] old = cborMapper().writeValueAsBytes(snapshot);
    Serializer jackson = serialization.serializerFor(io.ferry.persistence.CborSerializable.class);
    Object back = serialization.deserialize(old, jackson.identifier(), NodeSnapshot.class.getName()).get();
    assertEquals(snapshot, back);
  }

  @Test
  void aCorruptOrTruncatedSnapshotIsRefusedNotMisread() {
    byte[] bytes = serialization.serialize(windowSnapshot(50)).get();
    NodeSnapshotSerializer s = new NodeSnapshotSerializer(
        (org.apache.pekko.actor.ExtendedActorSystem) org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(testKit.system()));
    assertThrows(NotSerializableException.class, () -> s.fromBinary(Arrays.copyOf(bytes, bytes.length - 9), NodeSnapshotSerializer.MANIFEST));
    byte[] hugeCount = bytes.clone();
    int head = java.nio.ByteBuffer.wrap(bytes).getInt();
    // after the head: the window flag, maxEventTime (8 bytes), lateDropped and nullDropped (1 byte each), then the count
    int countAt = 4 + head + 1 + 8 + 1 + 1;
    byte[] tooMany = {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F};
    byte[] patched = new byte[bytes.length + tooMany.length];
    System.arraycopy(hugeCount, 0, patched, 0, countAt);
    System.arraycopy(tooMany, 0, patched, countAt, tooMany.length);
    System.arraycopy(hugeCount, countAt + 1, patched, countAt + tooMany.length, bytes.length - countAt - 1);
    NotSerializableException e =
        assertThrows(NotSerializableException.class, () -> s.fromBinary(patched, NodeSnapshotSerializer.MANIFEST));
    assertTrue(e.getMessage().contains("window accumulators"), e.getMessage());
    assertThrows(NotSerializableException.class, () -> s.fromBinary(bytes, "S0"));
    assertArrayEquals(bytes, s.toBinary(windowSnapshot(50)), "the format is deterministic");
  }

  private static ObjectMapper cborMapper() {
    return JacksonObjectMapperProvider.get(testKit.system()).getOrCreate("jackson-cbor", Optional.of(new CBORFactory()));
  }
}
