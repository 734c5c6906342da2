package io.ferry.query;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class RowSerializationTest {

  private static final ObjectMapper CBOR = new ObjectMapper(new CBORFactory()).enable(DeserializationFeature.USE_LONG_FOR_INTS);

  private static List<Row> rows() {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      rows.add(Row.of("key-" + i % 16 + "-ü€", (long) i * 37 - 5_000, 1_700_000_000_000L + i, null, i / 3.0, i % 2 == 0));
    }
    rows.add(Row.of(Long.MIN_VALUE, Long.MAX_VALUE, 0L, -1L, 23L, 24L, 255L, 256L, 65_536L, 4_294_967_296L));
    rows.add(Row.of(Double.NaN, Double.NEGATIVE_INFINITY, -0.0, Double.MIN_VALUE, "", Boolean.FALSE));
    rows.add(Row.of(7, 2.5f)); // not row types, but written as Jackson would write them
    rows.add(Row.of());
    return rows;
  }

  @Test
  void rowsAreWrittenAsTheSameBytesJacksonsListSerializerWrote() throws Exception {
    for (Row r : rows()) {
      byte[] asList = CBOR.writeValueAsBytes(Arrays.asList(r.copyValues()));
      assertArrayEquals(asList, CBOR.writeValueAsBytes(r), r.toString());
    }
    List<List<Object>> lists = rows().stream().map(r -> Arrays.asList(r.copyValues())).toList();
    assertArrayEquals(CBOR.writeValueAsBytes(lists), CBOR.writeValueAsBytes(rows()), "a list of rows");
  }

  @Test
  void rowsReadBackEqual() throws Exception {
    List<Row> rows = rows().subList(0, rows().size() - 2);
    List<Row> back = CBOR.readValue(CBOR.writeValueAsBytes(rows), new TypeReference<List<Row>>() {});
    assertEquals(rows, back);
  }
}
