package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.ferry.testkit.SampleQuery;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ferry plan} offline: the demo's query over a topology file whose edge-b is busy. */
class PlanCommandTest {
  @TempDir Path dir;

  @Test
  void plansTheDemoQueryAndSaysWhy() throws Exception {
    JsonMapper mapper = JsonMapper.builder().build();
    Path spec = dir.resolve("spec.json");
    Files.writeString(spec, mapper.writeValueAsString(Map.of(
        "graph", SampleQuery.graph("readings", 1000, 5000, null),
        "placement", Map.of("src-a", "edge-a", "src-b", "edge-b", "out", "cloud"))));
    Path topo = dir.resolve("topology.conf");
    Files.writeString(topo, String.join("\n",
        "topology {",
        "  sites { edge-a { tier = edge, cores = 2, load = 0.5 }, edge-b { tier = edge, cores = 2, load = 1.975 }, cloud { tier = cloud, cores = 16 } }",
        "  links = [ { a = edge-a, b = cloud, rtt = 40ms, bandwidth = 10MB }, { a = edge-b, b = cloud, rtt = 40ms, bandwidth = 10MB } ]",
        "  default-link { rtt = 300ms, bandwidth = 20kB }",
        "}"));
    CliRun r = CliRun.of("plan", spec.toString(), "--topology", topo.toString());
    assertEquals(0, r.exit(), r.err() + r.out());
    assertTrue(r.out().contains("window-a at edge-a: cuts WAN from"), r.out());
    assertTrue(r.out().contains("window-b at cloud: edge-b has no room"), r.out());
    assertTrue(r.out().contains("anon-b at edge-b: receives PII [owner], edge only"), r.out());

    CliRun json = CliRun.of("plan", spec.toString(), "--topology", topo.toString(), "--json");
    assertEquals(0, json.exit(), json.err());
    JsonNode plan = mapper.readTree(json.out());
    assertEquals("cloud", plan.get("sites").get("window-b").asText());
    assertEquals("edge-a", plan.get("sites").get("window-a").asText());
    assertTrue(plan.get("reasons").get("window-b").asText().contains("no room"));

    CliRun noSource = CliRun.of("plan", spec.toString().replace("spec", "missing"), "--topology", topo.toString());
    assertTrue(noSource.exit() != 0);
  }
}
