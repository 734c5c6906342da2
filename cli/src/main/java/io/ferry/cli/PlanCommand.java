package io.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.placement.Site;
import io.ferry.placement.plan.CostModel;
import io.ferry.placement.plan.Plan;
import io.ferry.placement.plan.PlanGraph;
import io.ferry.placement.plan.Planner;
import io.ferry.placement.plan.Rates;
import io.ferry.placement.plan.Topology;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.QueryGraph;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ferry plan SPEC --topology FILE [--json]}: the placement planner's plan and reasons for a
 * spec, without deploying it. The spec is what {@code ferry submit --file} takes; its placement
 * may name only the sources' sites (where their data arrives) and the sinks' (where their
 * readers are): the planner places the rest.
 */
@Command(
    name = "plan",
    description = {
      "Prints the placement planner's site and reason for every node of a spec, without deploying it.",
      "Offline against a topology file (sites, cores, load, links; a cost block overrides ferry.placement.cost),",
      "or, without --topology, against a running cluster (--url) on the sites and load its placement manager measures."
    })
final class PlanCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "SPEC", description = "{\"graph\": <query graph JSON>, \"placement\": {\"source\": \"edge-a\", \"sink\": \"cloud\"}}")
  Path spec;

  @Option(names = "--topology", paramLabel = "FILE",
      description = "HOCON: topology { sites { edge-a { tier = edge, cores = 2, load = 0.5 } ... }, links = [...], default-link {...} } (see docs/placement.md)")
  Path topology;

  @Option(names = "--json", description = "print the plan as JSON")
  boolean json;

  @picocli.CommandLine.Mixin Main.Endpoint endpoint = new Main.Endpoint();

  @Override
  public Integer call() throws Exception {
    if (topology == null) {
      // against a running cluster: its planner plans on the topology its placement manager measures
      try {
        return endpoint.client().plan(java.nio.file.Files.readString(spec), json);
      } catch (ManagementClient.Failed e) {
        System.err.println("ferry: " + e.getMessage());
        return 1;
      }
    }
    // as the management endpoint reads a spec: whole numbers are longs (filter literals on LONG fields)
    JsonMapper mapper = JsonMapper.builder()
        .addModule(new com.fasterxml.jackson.datatype.jdk8.Jdk8Module())
        .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_LONG_FOR_INTS)
        .build();
    JsonNode body = mapper.readTree(Files.readString(spec));
    if (body.get("graph") == null) {
      throw new IllegalArgumentException(spec + ": field 'graph' is missing");
    }
    QueryGraph graph = mapper.treeToValue(body.get("graph"), QueryGraph.class);
    Map<String, String> placement = body.get("placement") == null ? Map.of()
        : mapper.convertValue(body.get("placement"), mapper.getTypeFactory().constructMapType(Map.class, String.class, String.class));
    List<NodeSpec> specs = graph.compile();
    Map<NodeId, Site> ends = new HashMap<>();
    for (NodeSpec n : specs) {
      String site = placement.get(n.id().value());
      if (site != null && (n.op().isSource() || n.op().isSink())) {
        ends.put(n.id(), Site.of(site));
      } else if (n.op().isSource()) {
        throw new IllegalArgumentException(spec + ": source '" + n.id() + "' needs a site in 'placement': where its data arrives");
      }
    }
    Config file = ConfigFactory.parseFile(topology.toFile()).resolve();
    if (!file.hasPath("topology")) {
      throw new IllegalArgumentException(topology + " has no 'topology' block");
    }
    // the file's own cost block, if any, over reference.conf's ferry.placement.cost
    CostModel cost = CostModel.fromConfig(file.withFallback(ConfigFactory.load().getConfig("ferry.placement")));
    PlanGraph g = PlanGraph.estimate(graph.id(), specs, Map.of(), Optional.empty(), PlanGraph.Estimates.defaults());
    g = new PlanGraph(g.query(), g.nodes().stream()
        .map(n -> new io.ferry.placement.plan.PlanNode(n.id(), n.inputs(), n.inRowsPerSec(), n.outRowsPerSec(), n.outBytesPerRow(), n.cpuSecondsPerRow(),
            n.piiFields(), Optional.ofNullable(ends.get(n.id()))))
        .toList());
    Plan plan = Planner.plan(Planner.Request.of(g, Topology.fromConfig(file.getConfig("topology")), cost));
    if (json) {
      System.out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(plan));
      return 0;
    }
    System.out.printf(Locale.ROOT, "plan of %s (%s): WAN %s, latency %.0f ms, cost %.3g per s%s%n", plan.query(), plan.method(),
        Rates.bytes(plan.wanBytesPerSec()), plan.latencyMs(), plan.costPerSecond(), plan.fits() ? "" : ", DOES NOT FIT: " + plan.violations());
    for (NodeSpec n : specs) {
      System.out.println("  " + plan.reasons().get(n.id()));
    }
    return plan.fits() ? 0 : 1;
  }
}
