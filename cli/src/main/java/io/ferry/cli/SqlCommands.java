package io.ferry.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.placement.Site;
import io.ferry.placement.plan.CostModel;
import io.ferry.placement.plan.Plan;
import io.ferry.placement.plan.PlanException;
import io.ferry.placement.plan.PlanGraph;
import io.ferry.placement.plan.PlanNode;
import io.ferry.placement.plan.Planner;
import io.ferry.placement.plan.Rates;
import io.ferry.placement.plan.Topology;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.QueryCompiler;
import io.ferry.query.QueryException;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.runtime.local.LocalEngine;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The SQL and engine commands: {@code ferry sql}, {@code ferry run}, and the body of {@code ferry submit --sql}. */
final class SqlCommands {
  private SqlCommands() {}

  static final ObjectMapper JSON =
      JsonMapper.builder().enable(DeserializationFeature.USE_LONG_FOR_INTS).enable(SerializationFeature.INDENT_OUTPUT).build();

  /** A query's name from its file: {@code examples/demo.sql} is {@code demo}. */
  static String nameOf(Path file) {
    String n = file.getFileName().toString().replaceFirst("\\.[^.]*$", "").replaceAll("[^A-Za-z0-9_.-]", "-");
    return n.isEmpty() || !Character.isLetterOrDigit(n.charAt(0)) ? "q" + n : n;
  }

  /** A spec file: SQL (compiled here) or the graph spec's JSON form. */
  static QueryCompiler.Compiled load(Path file, String query) throws IOException {
    String text = Files.readString(file);
    QueryId id = new QueryId(query == null ? nameOf(file) : query);
    if (file.toString().endsWith(".sql")) {
      return QueryCompiler.require("sql").compile(text, id);
    }
    QueryGraph g = JSON.readValue(text, QueryGraph.class);
    return new QueryCompiler.Compiled(query == null ? g : new QueryGraph(id, g.nodes()), Map.of(), Map.of(), Map.of());
  }

  /** One line for a spec that cannot be read: the compiler's message, or what is wrong with the file or its JSON. */
  static String problem(Exception e) {
    if (e instanceof com.fasterxml.jackson.core.JsonProcessingException j) {
      Throwable cause = j.getCause() instanceof QueryException q ? q : null;
      String where = j.getLocation() == null ? "" : " at line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr();
      return "not a graph spec" + where + ": " + (cause != null ? cause.getMessage() : j.getOriginalMessage());
    }
    if (e instanceof java.nio.file.NoSuchFileException) {
      return "no such file";
    }
    return e.getMessage();
  }

  /** What {@code ferry submit --sql FILE} posts: the SQL as is, the member compiles it. */
  static String submitBody(Path file, String query) throws IOException {
    return JSON.writeValueAsString(sqlBody(file, query));
  }

  private static Map<String, Object> sqlBody(Path file, String query) throws IOException {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("query", query == null ? nameOf(file) : query);
    body.put("sql", Files.readString(file));
    return body;
  }

  /** What {@code ferry run} posts for the distributed engine: the spec and how the engine was chosen, which the query's status records. */
  static String runBody(Path spec, String query, QueryCompiler.Compiled c, boolean auto, String reason) throws IOException {
    Map<String, Object> body;
    if (spec.toString().endsWith(".sql")) {
      body = sqlBody(spec, query);
    } else {
      body = new LinkedHashMap<>();
      body.put("graph", c.graph());
      Map<String, String> m = new LinkedHashMap<>();
      c.sites().forEach((n, s) -> m.put(n.value(), s));
      body.put("placement", m);
    }
    body.put("engine", Map.of("name", "distributed", "chosen", auto ? "auto" : "explicit", "reason", reason));
    return JSON.writeValueAsString(body);
  }

  /**
   * The placement planner's plan for a compiled query over a topology file (HOCON, as {@code ferry plan}
   * reads it): nodes with a site from a hint or table option are fixed there, the planner places the rest.
   */
  static Plan plan(QueryCompiler.Compiled c, Path topology) {
    List<NodeSpec> specs = c.graph().compile();
    Map<NodeId, Site> fixed = new HashMap<>();
    c.sites().forEach((n, s) -> fixed.put(n, Site.of(s)));
    for (NodeSpec n : specs) {
      if (n.op().isSource() && !fixed.containsKey(n.id())) {
        throw new PlanException("source '" + n.id() + "' has no site: give its table a 'site' option (where its data arrives)");
      }
    }
    Config file = ConfigFactory.parseFile(topology.toFile()).resolve();
    if (!file.hasPath("topology")) {
      throw new PlanException(topology + " has no 'topology' block (see docs/placement.md)");
    }
    // The file's own cost block, if any, over reference.conf's ferry.placement.cost.
    CostModel cost = CostModel.fromConfig(file.withFallback(ConfigFactory.load().getConfig("ferry.placement")));
    PlanGraph estimated = PlanGraph.estimate(c.graph().id(), specs, Map.of(), Optional.empty(), PlanGraph.Estimates.defaults());
    PlanGraph g = new PlanGraph(estimated.query(), estimated.nodes().stream()
        .map(n -> new PlanNode(n.id(), n.inputs(), n.inRowsPerSec(), n.outRowsPerSec(), n.outBytesPerRow(), n.cpuSecondsPerRow(), n.piiFields(),
            Optional.ofNullable(fixed.get(n.id()))))
        .toList());
    return Planner.plan(Planner.Request.of(g, Topology.fromConfig(file.getConfig("topology")), cost));
  }

  /** The nodes in order with operator, inputs, schema, PII, and where each runs and why; with a plan, the planner's site and reason too. */
  static void explain(QueryCompiler.Compiled c, Optional<Plan> plan, PrintStream out) {
    List<NodeSpec> specs = c.graph().compile();
    out.println("query " + c.graph().id() + ": " + specs.size() + " logic nodes (graph spec version " + QueryGraph.SPEC_VERSION + ")");
    plan.ifPresent(p -> out.printf(Locale.ROOT, "plan (%s): WAN %s, latency %.0f ms, cost %.3g per s%s%n", p.method(), Rates.bytes(p.wanBytesPerSec()),
        p.latencyMs(), p.costPerSecond(), p.fits() ? "" : ", DOES NOT FIT: " + p.violations()));
    for (NodeSpec n : specs) {
      String site = c.sites().get(n.id());
      String tier = c.tiers().get(n.id());
      String placed = site != null ? "site " + site : tier != null ? "tier " + tier : "unplaced";
      out.println();
      out.println("  " + n.id() + "  [" + n.op().getClass().getSimpleName() + "]" + (n.inputs().isEmpty() ? "" : "  <- " + n.inputs()));
      out.println("    emits     " + n.outputSchema());
      out.println("    placement " + placed + (n.receivesPii() ? "  (receives PII: edge only, unless the planner is told otherwise)" : ""));
      String why = c.notes().get(n.id());
      if (why != null) {
        out.println("    why       " + why);
      }
      if (plan.isPresent()) {
        Site planned = plan.get().sites().get(n.id());
        out.println("    planner   " + (planned == null ? "(not placed)" : "site " + planned) + ": " + plan.get().reasons().get(n.id()));
      }
    }
    out.println();
    if (plan.isPresent()) {
      out.println("Placement: nodes with a site from a hint or table option are fixed there; the planner placed the rest over the topology"
          + " (its estimates: docs/placement.md).");
    } else {
      out.println("Placement: sites come from SITE/TIER hints and table options; nodes marked unplaced are placed at deploy"
          + " (ferry submit --sql runs them where their first upstream runs until the planner places them; --topology FILE asks the planner now).");
    }
  }

  @Command(
      name = "sql",
      description = {
        "Compiles a streaming SQL file into the graph spec (printed as JSON), or with --explain lists the logic nodes,",
        "their placement and the reasons. Errors name the line and column."
      })
  static final class SqlCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "the SQL script (CREATE TABLE ...; INSERT INTO ... SELECT ...)")
    Path file;

    @Option(names = "--explain", description = "list nodes, placement and reasons instead of printing the graph spec")
    boolean explain;

    @Option(names = "--query", paramLabel = "NAME", description = "the query's name (default: the file's name)")
    String query;

    @Option(names = "--topology", paramLabel = "FILE",
        description = "with --explain: the placement planner places the nodes over this topology (HOCON, as ferry plan reads it) and says why")
    Path topology;

    @Override
    public Integer call() throws IOException {
      if (topology != null && !explain) {
        System.err.println("ferry: --topology is for --explain");
        return 2;
      }
      QueryCompiler.Compiled c;
      try {
        c = load(file, query);
      } catch (QueryException | IOException e) {
        System.err.println("ferry: " + file + ": " + problem(e));
        return 1;
      }
      if (explain) {
        Optional<Plan> plan = Optional.empty();
        if (topology != null) {
          try {
            plan = Optional.of(plan(c, topology));
          } catch (PlanException | IllegalArgumentException | com.typesafe.config.ConfigException e) {
            System.err.println("ferry: " + topology + ": " + e.getMessage());
            return 1;
          }
        }
        explain(c, plan, System.out);
      } else {
        System.out.println(JSON.writeValueAsString(c.graph()));
      }
      return 0;
    }
  }

  @Command(
      name = "run",
      description = {
        "Runs a graph spec (.json) or SQL file (.sql) on an engine and prints each sink's rows.",
        "local: this process, Pekko Streams, no cluster (sources must end, or use --for);",
        "distributed: submits it to a running cluster (--url) as logic nodes, placed and movable;",
        "auto: local when the spec names at most one site (nothing to move), else distributed."
      })
  static final class RunCommand implements Callable<Integer> {
    enum Engine {
      local,
      distributed,
      auto
    }

    @Parameters(paramLabel = "SPEC", description = "a .sql file or a graph spec .json file")
    Path spec;

    @Option(names = "--engine", paramLabel = "ENGINE", description = "local, distributed or auto (default ${DEFAULT-VALUE})")
    Engine engine = Engine.auto;

    @Option(names = "--query", paramLabel = "NAME", description = "the query's name (default: the file's name)")
    String query;

    @Option(names = "--for", paramLabel = "DURATION", description = "local engine: stop after this long (e.g. PT10S); default: until every source ends")
    Duration limit;

    @Option(names = "--url", paramLabel = "URL", description = "distributed engine: a member's management endpoint (default ${DEFAULT-VALUE})")
    String url = Main.DEFAULT_URL;

    @Override
    public Integer call() throws Exception {
      QueryCompiler.Compiled c;
      try {
        c = load(spec, query);
        c.graph().compile();
      } catch (QueryException | IOException e) {
        System.err.println("ferry: " + spec + ": " + problem(e));
        return 1;
      }
      Set<String> sites = new TreeSet<>(c.sites().values());
      Engine chosen = engine != Engine.auto ? engine : sites.size() <= 1 ? Engine.local : Engine.distributed;
      String reason = engine != Engine.auto
          ? "asked for with --engine " + engine
          : sites.size() <= 1
              ? "the spec names at most one site " + sites + ": nothing to move"
              : "the spec names sites " + sites + ": its nodes run there and can move";
      System.out.println("engine=" + chosen + " (" + (engine == Engine.auto ? "auto" : "explicit") + ": " + reason + ") query=" + c.graph().id());
      if (chosen == Engine.distributed) {
        String body = runBody(spec, query, c, engine == Engine.auto, reason);
        ManagementClient client = new ManagementClient(url, System.out, System.err);
        try {
          return client.submit(body);
        } catch (ManagementClient.Failed e) {
          System.err.println("ferry: " + e.getMessage());
          return 1;
        }
      }
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "ferry-local", ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(ConfigFactory.load()));
      try {
        LocalEngine.Run run = LocalEngine.start(c.graph(), system);
        LocalEngine.Result result;
        try {
          result = limit == null
              ? run.result().toCompletableFuture().get()
              : run.result().toCompletableFuture().get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
          run.stop();
          result = run.result().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
        for (Map.Entry<NodeId, List<Row>> s : result.sinks().entrySet()) {
          System.out.println("sink " + s.getKey() + ": " + s.getValue().size() + " rows");
          for (Row r : s.getValue()) {
            System.out.println("  " + r);
          }
        }
        System.out.println("engine=local status=done");
        return 0;
      } finally {
        system.terminate();
      }
    }
  }

  @Command(name = "bench-sql", description = "Times the SQL compiler on a query of about 20 logic nodes (parse, validate, build, check).")
  static final class BenchSqlCommand implements Callable<Integer> {
    @Option(names = "--runs", paramLabel = "N", description = "timed compilations (default ${DEFAULT-VALUE})")
    int runs = 200;

    @Option(names = "--warmup", paramLabel = "N", description = "untimed compilations first (default ${DEFAULT-VALUE})")
    int warmup = 100;

    @Override
    public Integer call() {
      io.ferry.bench.SqlCompileBench.run(warmup, Math.max(1, runs), System.out);
      return 0;
    }
  }
}
