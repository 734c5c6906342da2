package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ferry sql --explain}: the nodes as compiled, and with {@code --topology} the placement planner's sites and reasons. */
class SqlExplainTest {
  static final Path DEMO_SQL = Path.of(System.getProperty("user.dir")).getParent().resolve("examples/demo.sql");

  @TempDir Path dir;

  @Test
  void explainWithATopologyShowsThePlannersSitesAndReasons() throws Exception {
    // The demo's SQL without its SITE hints: sources at their edges and the sink in the cloud are
    // fixed by table options, the planner places everything between.
    Path sql = dir.resolve("readings.sql");
    Files.writeString(sql, Files.readString(DEMO_SQL).replace("/*+ SITE('edge-a') */", "").replace("/*+ SITE('edge-b') */", ""));
    Path topo = dir.resolve("topology.conf");
    Files.writeString(topo, String.join("\n",
        "topology {",
        "  sites { edge-a { tier = edge, cores = 2, load = 0.5 }, edge-b { tier = edge, cores = 2, load = 1.975 }, cloud { tier = cloud, cores = 16 } }",
        "  links = [ { a = edge-a, b = cloud, rtt = 40ms, bandwidth = 10MB }, { a = edge-b, b = cloud, rtt = 40ms, bandwidth = 10MB } ]",
        "  default-link { rtt = 300ms, bandwidth = 20kB }",
        "}"));

    CliRun plain = CliRun.of("sql", sql.toString(), "--explain");
    assertEquals(0, plain.exit(), plain::toString);
    assertTrue(plain.out().contains("placement unplaced"), plain::out);
    assertFalse(plain.out().contains("    planner   "), "without a topology, no plan: " + plain.out());

    CliRun planned = CliRun.of("sql", sql.toString(), "--explain", "--topology", topo.toString());
    assertEquals(0, planned.exit(), planned::toString);
    String out = planned.out();
    assertTrue(out.contains("plan (") && out.contains("WAN "), out);
    long plannerLines = out.lines().filter(l -> l.startsWith("    planner   site ")).count();
    long nodes = out.lines().filter(l -> l.startsWith("    emits ")).count();
    assertEquals(nodes, plannerLines, "every node has the planner's site and reason: " + out);
    assertTrue(out.contains("    planner   site edge-a: "), out);
    assertTrue(out.contains("    planner   site cloud: "), out);
    // The planner's own reasons: PII keeps the filters at their edge, a window at edge-a saves WAN, the sink is where its readers are.
    assertTrue(out.lines().anyMatch(l -> l.startsWith("    planner   site edge-b: filter-") && l.contains("receives PII [owner], edge only")), out);
    assertTrue(out.lines().anyMatch(l -> l.matches("    planner   site edge-a: window-\\d+ at edge-a: cuts WAN from .*")), out);
    assertTrue(out.contains("    planner   site cloud: out at cloud: its readers are there"), out);

    CliRun noTopology = CliRun.of("sql", sql.toString(), "--explain", "--topology", dir.resolve("missing.conf").toString());
    assertEquals(1, noTopology.exit(), noTopology::toString);
    assertTrue(noTopology.err().contains("has no 'topology' block"), noTopology::err);
    CliRun withoutExplain = CliRun.of("sql", sql.toString(), "--topology", topo.toString());
    assertEquals(2, withoutExplain.exit(), withoutExplain::toString);
  }
}
