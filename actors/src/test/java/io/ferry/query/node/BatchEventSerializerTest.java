package io.ferry.query.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import io.ferry.query.NodeId;
import io.ferry.query.Row;
import io.ferry.query.ops.SourcePosition;
import io.ferry.query.ops.WindowAcc;
import io.ferry.query.ops.WindowDelta;
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

class BatchEventSerializerTest {

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

  /** Every kind of row value, the edges of longs and doubles, non-ASCII and empty strings, an empty row. */
  private static List<Row> rows(int n) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(Row.of("key-" + i % 16 + "-ü€", (long) i * 37 - 500, 1_700_000_000_000L + i, null, i / 3.0, i % 2 == 0));
    }
    rows.add(Row.of(Long.MIN_VALUE, Long.MAX_VALUE, 0L, -1L, Double.NaN, Double.NEGATIVE_INFINITY, -0.0, "", Boolean.FALSE));
    rows.add(Row.of());
    return rows;
  }

  private static NodeEvent.BatchProcessed windowEvent(int n) {
    WindowDelta delta = new WindowDelta(1_700_000_001_000L, 2, 1,
        List.of(new WindowAcc(1_700_000_000_000L, "k", 3, List.of(6L), List.of(1L), List.of(2.0))), List.of(1_699_999_999_000L));
    return new NodeEvent.BatchProcessed(new NodeId("anon-a"), 4_000, 4_000 + n, false, delta, rows(n), false);
  }

  private static Object roundTrip(Object event) throws Exception {
    Serializer s = serialization.findSerializerFor(event);
    byte[] bytes = s.toBinary(event);
    return serialization.deserialize(bytes, s.identifier(), BatchEventSerializer.MANIFEST).get();
  }

  @Test
  void batchEventsAreBoundToTheBinaryFormatAndOtherEventsStayCbor() throws Exception {
    assertEquals(BatchEventSerializer.ID, serialization.findSerializerFor(windowEvent(1)).identifier());
    Serializer jackson = serialization.serializerFor(io.ferry.persistence.CborSerializable.class);
    assertEquals(jackson.identifier(), serialization.findSerializerFor(new NodeEvent.Paused("m-1")).identifier());
  }

  @Test
  void aBatchEventRoundTripsWithEveryValueKindAndIsSmallerThanCbor() throws Exception {
    NodeEvent.BatchProcessed event = windowEvent(2_000);
    assertEquals(event, roundTrip(event));
    NodeEvent.BatchProcessed source =
        new NodeEvent.BatchProcessed(new NodeId("src-a"), 0, 10, true, new SourcePosition(Map.of("p0", 10L)), List.of(), true);
    assertEquals(source, roundTrip(source));
    NodeEvent.BatchProcessed noDelta = new NodeEvent.BatchProcessed(new NodeId("f"), 7, 9, false, null, rows(2), false);
    assertEquals(noDelta, roundTrip(noDelta));
    byte[] binary = serialization.findSerializerFor(event).toBinary(event);
    byte[] cbor = JacksonObjectMapperProvider.get(testKit.system()).getOrCreate("jackson-cbor", Optional.of(new CBORFactory())).writeValueAsBytes(event);
    assertTrue(binary.length < cbor.length, "binary " + binary.length + " bytes vs CBOR " + cbor.length);
  }

  @Test
  void anIntegerValueIsReadBackAsTheLongItStandsFor() throws Exception {
    NodeEvent.BatchProcessed event = new NodeEvent.BatchProcessed(new NodeId("f"), 0, 1, false, null, List.of(Row.of(5, 2.5f)), false);
    NodeEvent.BatchProcessed back = (NodeEvent.BatchProcessed) roundTrip(event);
    assertEquals(List.of(Row.of(5L, 2.5)), back.outputs());
  }

  @Test
  void aBatchEventWrittenAsCborBeforeStillReads() throws Exception {
    NodeEvent.BatchProcessed event = windowEvent(50);
    Serializer jackson = serialization.serializerFor(io.ferry.persistence.CborSerializable.class);
    byte[] old = jackson.toBinary(event);
    Object back = serialization.deserialize(old, jackson.identifier(), NodeEvent.BatchProcessed.class.getName()).get();
    assertEquals(event, back);
  }

  @Test
  void aCorruptOrTruncatedEventIsRefusedNotMisread() throws Exception {
    BatchEventSerializer s = (BatchEventSerializer) serialization.findSerializerFor(windowEvent(1));
    byte[] bytes = s.toBinary(windowEvent(100));
    assertThrows(NotSerializableException.class, () -> s.fromBinary(Arrays.copyOf(bytes, bytes.length - 1), BatchEventSerializer.MANIFEST));
    byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
    assertThrows(NotSerializableException.class, () -> s.fromBinary(longer, BatchEventSerializer.MANIFEST), "trailing bytes");
    byte[] badHead = bytes.clone();
    badHead[0] = 0x7f;
    assertThrows(NotSerializableException.class, () -> s.fromBinary(badHead, BatchEventSerializer.MANIFEST));
    byte[] badTag = s.toBinary(new NodeEvent.BatchProcessed(new NodeId("f"), 0, 1, false, null, List.of(Row.of(true)), false));
    assertEquals(4, badTag[badTag.length - 1], "the last byte is the tag of the row's one value, true");
    badTag[badTag.length - 1] = 9;
    NotSerializableException e = assertThrows(NotSerializableException.class, () -> s.fromBinary(badTag, BatchEventSerializer.MANIFEST));
    assertTrue(e.getMessage().contains("tag"), e.getMessage());
    assertThrows(NotSerializableException.class, () -> s.fromBinary(bytes, "B0"));
    assertThrows(IllegalArgumentException.class,
        () -> s.toBinary(new NodeEvent.BatchProcessed(new NodeId("f"), 0, 1, false, null, List.of(Row.of(new Object())), false)));
  }
}
