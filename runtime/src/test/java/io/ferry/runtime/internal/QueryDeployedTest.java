package io.ferry.runtime.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import io.ferry.api.EngineChoice;
import io.ferry.api.Query;
import io.ferry.query.OperatorSpec;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The engine choice in the registry's deploy event survives the journal's CBOR, and events written before it existed still read. */
class QueryDeployedTest {
  private static final CBORMapper CBOR = CBORMapper.builder().enable(DeserializationFeature.USE_LONG_FOR_INTS).build();

  @Test
  void theEngineChoiceIsKeptAndOldEventsReadAsDeployed() throws Exception {
    EngineChoice auto = new EngineChoice(EngineChoice.DISTRIBUTED, EngineChoice.AUTO, "the spec names sites [cloud, edge-a]");
    QueryRegistry.QueryDeployed event = new QueryRegistry.QueryDeployed(
        Query.named("q").generate("src", new OperatorSpec.Generate(1, 4, 10, 0, 1, 0, 0)).collect("out", "src").build(),
        Map.of("src", "edge-a", "out", "cloud"), "d1", auto);
    QueryRegistry.QueryDeployed back = CBOR.readValue(CBOR.writeValueAsBytes(event), QueryRegistry.QueryDeployed.class);
    assertEquals(auto, back.engine());
    assertEquals(event.graph(), back.graph());

    ObjectNode old = CBOR.valueToTree(event);
    old.remove("engine");
    QueryRegistry.QueryDeployed older = CBOR.readValue(CBOR.writeValueAsBytes(old), QueryRegistry.QueryDeployed.class);
    assertEquals(EngineChoice.deployed(), older.engine());
  }
}
