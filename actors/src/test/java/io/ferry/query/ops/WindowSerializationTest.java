package io.ferry.query.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import com.fasterxml.jackson.module.paramnames.ParameterNamesModule;
import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.OperatorSpec;
import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.OperatorSpec.AggregateFn;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Window deltas and states go through CBOR as the journal stores them, and still apply identically. */
@ExtendWith(SeedExtension.class)
class WindowSerializationTest {
  private static final ObjectMapper CBOR =
      CBORMapper.builder()
          .enable(DeserializationFeature.USE_LONG_FOR_INTS)
          .addModule(new ParameterNamesModule())
          .build();

  private static OperatorDelta viaCbor(OperatorDelta d) throws IOException {
    return CBOR.readValue(CBOR.writerFor(OperatorDelta.class).writeValueAsBytes(d), OperatorDelta.class);
  }

  private static OperatorState viaCbor(OperatorState s) throws IOException {
    return CBOR.readValue(CBOR.writerFor(OperatorState.class).writeValueAsBytes(s), OperatorState.class);
  }

  @Test
  void deltasSurviveCborAndApplyIdentically(Seed testSeed) throws IOException {
    long seed = testSeed.value();
    List<List<Row>> batches = WindowOperatorTest.randomBatches(new Random(seed), 3000);
    WindowOperator live = WindowOperatorTest.window(100, 30);
    WindowOperator replayed = WindowOperatorTest.window(100, 30);
    boolean sawUpdates = false;
    for (List<Row> b : batches) {
      Operator.Step step = live.process(b);
      assertEquals(step, replayed.process(b), "seed " + seed);
      if (step.delta() != null) {
        OperatorDelta decoded = viaCbor(step.delta());
        assertEquals(step.delta(), decoded, "seed " + seed);
        sawUpdates |= !((WindowDelta) decoded).updated().isEmpty();
        replayed.apply(decoded);
      }
      live.apply(step.delta());
    }
    assertEquals(true, sawUpdates, "the input must exercise accumulator updates");
    WindowState snap = live.snapshot();
    assertFalse(snap.open().isEmpty());
    assertEquals(snap, viaCbor(snap));
    WindowOperator restored = WindowOperatorTest.window(100, 30);
    restored.restore(viaCbor(snap));
    assertEquals(live.finish(), restored.finish());
    assertEquals(live.finish(), replayed.finish());
  }

  @Test
  void longKeysAndSmallNumbersComeBackTyped() throws IOException {
    Schema s = Schema.of(Field.of("k", FieldType.LONG), Field.of("t", FieldType.TIMESTAMP), Field.of("x", FieldType.DOUBLE));
    OperatorSpec.Window spec =
        new OperatorSpec.Window(
            "k", "t", 10, 0,
            List.of(new Aggregate(AggregateFn.SUM, "x", "sx"), new Aggregate(AggregateFn.MAX, "t", "last")));
    WindowOperator a = new WindowOperator(spec, s);
    Operator.Step step = a.process(List.of(Row.of(3L, 1L, 2.0), Row.of(-4L, 2L, 0.5)));
    WindowOperator b = new WindowOperator(spec, s);
    b.apply(viaCbor(step.delta()));
    a.apply(step.delta());
    List<Row> out = b.finish().outputs();
    assertEquals(a.finish().outputs(), out);
    assertEquals(List.of(Row.of(-4L, 0L, 10L, 0.5, 2L), Row.of(3L, 0L, 10L, 2.0, 1L)), out);
    assertEquals(new FileSinkDelta(12), viaCbor((OperatorDelta) new FileSinkDelta(12)));
  }
}
