package io.ferry.cli;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import io.ferry.bench.FailoverBench;
import io.ferry.bench.JournalBench;
import io.ferry.bench.MigrationBench;
import io.ferry.bench.PipelineBench;
import io.ferry.bench.VolumeBench;
import io.ferry.blocks.VolumeId;
import io.ferry.placement.MigrationInstruction;
import io.ferry.runtime.FerryNode;
import io.ferry.testkit.SampleQuery;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The {@code ferry} command line (picocli): one subcommand per command, each with {@code --help}.
 * Each command says what it did; exit 0 on success, 1 when the command failed, 2 on a usage error.
 */
@Command(
    name = "ferry",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    // every subcommand inherits --help and --version from here
    scope = CommandLine.ScopeType.INHERIT,
    description = "Runs and moves streaming queries and block volumes across edge and cloud sites.",
    synopsisSubcommandLabel = "COMMAND",
    subcommands = {
      Main.DemoCommand.class,
      Main.NodeCommand.class,
      Main.SubmitCommand.class,
      Main.StatusCommand.class,
      Main.MigrateCommand.class,
      Main.VolumeCommand.class,
      JobCommand.class,
      Simulate.class,
      Main.BenchCommand.class,
      Main.BenchMovesCommand.class,
      Main.BenchVolumeCommand.class,
      Main.BenchJournalCommand.class,
      BenchMqttCommand.class,
      PlacementCommands.BenchPlanCommand.class,
      PlacementCommands.DecisionsCommand.class,
      PlacementCommands.PlacementCommand.class,
      PlanCommand.class,
      io.ferry.bench.JobsBench.class,
      io.ferry.bench.VolumeLifeBench.class,
      io.ferry.bench.PreCopyBench.class,
      Main.CompletionCommand.class,
      SqlCommands.SqlCommand.class,
      SqlCommands.RunCommand.class,
      SqlCommands.BenchSqlCommand.class,
      SecurityCommands.TokenCommand.class,
      SecurityCommands.BenchSecurityCommand.class,
      RescaleCommand.class,
      BenchFailoverCommand.class,
      io.ferry.bench.RescaleBench.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Callable<Integer> {

  static final String DEFAULT_URL = ManagementClient.DEFAULT_URL;

  @Spec CommandSpec spec;

  public static void main(String[] args) {
    // Logging starts here, before the members' threads log at once (slf4j would replay their calls with a warning).
    LoggerFactory.getILoggerFactory();
    System.exit(run(List.of(args)));
  }

  /** Runs one command line as the launcher would and returns its exit code. */
  public static int run(List<String> args) {
    return commandLine().execute(args.toArray(String[]::new));
  }

  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler(Main::failed);
    return cl;
  }

  /** A usage error found while a command runs exits 2, as one found by the parser; anything else 1. */
  private static int failed(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
    PrintWriter err = cl.getErr();
    if (e instanceof IllegalArgumentException) {
      err.println(cl.getCommandSpec().qualifiedName() + ": " + e.getMessage());
      err.println("see: " + cl.getCommandSpec().qualifiedName() + " --help");
      err.flush();
      return 2;
    }
    err.println(cl.getCommandSpec().qualifiedName() + ": " + e);
    e.printStackTrace(err);
    err.flush();
    return 1;
  }

  /** {@code ferry} alone prints the list of commands. */
  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getOut());
    return 0;
  }

  /** The project version, filtered into version.properties at build time. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() throws IOException {
      Properties p = new Properties();
      try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
        if (in != null) {
          p.load(in);
        }
      }
      return new String[] {
        "ferry " + p.getProperty("version", "(unknown version)"),
        "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")"
      };
    }
  }

  /** A count that must be above zero. */
  static final class Positive implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String v) {
      long n = NonNegative.parse(v);
      if (n == 0) {
        throw new CommandLine.TypeConversionException("must be positive, got " + v);
      }
      return n;
    }
  }

  /** A count or rate where 0 means none or unlimited. */
  static final class NonNegative implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String v) {
      return parse(v);
    }

    static long parse(String v) {
      long n;
      try {
        n = Long.parseLong(v);
      } catch (NumberFormatException e) {
        throw new CommandLine.TypeConversionException("takes a whole number, got '" + v + "'");
      }
      if (n < 0) {
        throw new CommandLine.TypeConversionException("must not be negative, got " + v);
      }
      return n;
    }
  }

  @Command(
      name = "demo",
      description = {
        "Runs a local cloud + two edge sites cluster with the sample query and checks once-only.",
        "The planner places the query; while data flows edge-a's capacity drops and comes back, and the placement manager",
        "moves window-a edge-a -> cloud -> edge-a by itself (decision lines); a 64 MiB disk image migrates edge-a -> cloud."
      })
  static final class DemoCommand implements Callable<Integer> {
    @Option(names = "--records", paramLabel = "N", converter = Positive.class, description = "rows per edge source (default ${DEFAULT-VALUE})")
    long records = 200_000;

    @Option(names = "--rate", paramLabel = "R", converter = NonNegative.class, description = "rows per second per source, 0 = unpaced (default ${DEFAULT-VALUE})")
    long rate = 50_000;

    @Option(names = "--crash", description = "crash the member hosting window-a mid-stream and start a replacement")
    boolean crash;

    @Option(names = "--no-moves", description = "no load change and no moves of window-a while data flows")
    boolean noMoves;

    @Option(names = "--hold", description = "keep the cluster running after the summary (for ferry status / migrate)")
    boolean hold;

    @Option(names = "--manual", description = {"deploy with every site named and move window-a by hand (ferry migrate's path) instead of",
        "letting the placement manager move it after a load change (the default; sources then paced to at most 5,000 rows/s)"})
    boolean manual;

    @Option(names = "--data", paramLabel = "DIR", description = "data directory (default .ferry/demo-<time>)")
    Path data;

    @Option(names = "--timeout", paramLabel = "S", converter = Positive.class, description = "give up after S seconds (default ${DEFAULT-VALUE})")
    long timeout = 600;

    @Option(
        names = "--sql",
        paramLabel = "FILE",
        arity = "0..1",
        fallbackValue = "examples/demo.sql",
        description = {
          "run the query of an SQL file (default examples/demo.sql) instead of the built-in one; its generator sources",
          "take --records and --rate, its sites must be cloud, edge-a and edge-b, and a node at edge-a is moved"
        })
    Path sql;

    @Override
    public Integer call() throws Exception {
      Path dir = data != null ? data : Path.of(".ferry", "demo-" + System.currentTimeMillis());
      // the SQL demo names every site and moves by hand
      boolean auto = sql == null && !manual;
      Demo.Options options = new Demo.Options(records, rate, crash, !noMoves, hold, dir, Duration.ofSeconds(timeout), Optional.ofNullable(sql), auto);
      if (sql != null) {
        // Bad SQL is reported before any member starts, with its line and column.
        try {
          Demo.plan(options, dir.resolve("archive.jsonl"));
        } catch (io.ferry.query.QueryException | java.io.IOException e) {
          System.err.println("ferry: " + sql + ": " + SqlCommands.problem(e));
          return 1;
        }
      }
      Demo.Result result = new Demo(options, System.out).run();
      return result.ok() ? 0 : 1;
    }
  }

  @Command(
      name = "node",
      description = "Runs one cluster member in this process until it is stopped (SIGTERM leaves gracefully).")
  static final class NodeCommand implements Callable<Integer> {
    @Option(
        names = "--config",
        paramLabel = "FILE",
        required = true,
        description = {
          "the member's HOCON: ferry.member (tier, site, host, port, seed-nodes, data-dir),",
          "ferry.persistence (journal = h2 | cassandra), ferry.http (see config/)"
        })
    Path file;

    @Override
    public Integer call() {
      if (!Files.isReadable(file)) {
        throw new IllegalArgumentException("cannot read the configuration file " + file.toAbsolutePath());
      }
      Config config;
      try {
        config = ConfigFactory.parseFile(file.toFile()).resolve();
      } catch (ConfigException e) {
        throw new IllegalArgumentException(file + " is not valid HOCON: " + e.getMessage());
      }
      if (!config.hasPath("ferry.member")) {
        throw new IllegalArgumentException(file + " has no ferry.member section (tier, site, host, port, seed-nodes, data-dir)");
      }
      FerryNode member = FerryNode.start(config);
      System.out.printf("ferry node: member %s roles %s journal %s management %s%n", member.address(), member.settings().roles(),
          member.system().settings().config().getString("ferry.persistence.journal"), member.httpUrl().orElse("off"));
      System.out.flush();
      member.system().getWhenTerminated().toCompletableFuture().join();
      return 0;
    }
  }

  /** {@code --url}, shared by the commands that talk to a member's management endpoint. */
  static final class Endpoint {
    @Option(names = "--url", paramLabel = "URL", description = "a member's management endpoint (default ${DEFAULT-VALUE})")
    String url = DEFAULT_URL;

    @CommandLine.Mixin SecurityCommands.ClientCredentials credentials = new SecurityCommands.ClientCredentials();

    ManagementClient client() {
      return new ManagementClient(url, System.out, System.err, credentials.token(), credentials.sslContext());
    }
  }

  @Command(
      name = "submit",
      description = "Deploys a query to a running cluster through a member's management endpoint.")
  static final class SubmitCommand implements Callable<Integer> {
    @CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
    What what;

    static final class What {
      @Option(names = "--file", paramLabel = "FILE", description = "{\"graph\": <query graph JSON>, \"placement\": {\"node\": \"site\"}}")
      Path file;

      @Option(names = "--sample", description = "the demo's query instead (--query, --records, --rate, --archive)")
      boolean sample;

      @Option(names = "--sql", paramLabel = "FILE", description = "a streaming SQL file (docs/sql.md), named by --query")
      Path sql;
    }

    @Option(names = "--query", paramLabel = "NAME", description = "with --sample: the query's name (default ${DEFAULT-VALUE})")
    String query = SampleQuery.QUERY;

    @Option(names = "--records", paramLabel = "N", converter = Positive.class, description = "with --sample: rows per edge source (default ${DEFAULT-VALUE})")
    long records = 200_000;

    @Option(names = "--rate", paramLabel = "R", converter = NonNegative.class, description = "with --sample: rows per second per source (default ${DEFAULT-VALUE})")
    long rate = 5_000;

    @Option(names = "--archive", paramLabel = "PATH", description = "with --sample: a JSON-lines file sink in the cloud (optional)")
    Path archive;

    @CommandLine.Mixin Endpoint endpoint = new Endpoint();

    @Override
    public Integer call() throws Exception {
      String body;
      if (what.sample) {
        Path file = archive == null ? null : archive.toAbsolutePath();
        body = JsonMapper.builder().build().writeValueAsString(
            Map.of("graph", SampleQuery.graph(query, records, rate, file), "placement", SampleQuery.placement(file != null).sites()));
      } else if (what.sql != null) {
        body = SqlCommands.submitBody(what.sql, query);
      } else {
        body = Files.readString(what.file);
      }
      ManagementClient client = endpoint.client();
      return explained(() -> client.submit(body));
    }
  }

  @Command(
      name = "status",
      description = {
        "Lists the deployed queries of a running cluster and where each node runs.",
        "For each node: its operator, site, member, output anchor and state (running, done, paused by a migration)."
      })
  static final class StatusCommand implements Callable<Integer> {
    @CommandLine.Mixin Endpoint endpoint = new Endpoint();

    @Override
    public Integer call() {
      ManagementClient client = endpoint.client();
      return explained(client::status);
    }
  }

  @Command(
      name = "migrate",
      description = {
        "Moves nodes of a running query to another site and waits until the move has ended.",
        "Exits 0 when it COMPLETED, 1 when it was refused or ROLLED_BACK."
      })
  static final class MigrateCommand implements Callable<Integer> {
    @Option(names = "--query", paramLabel = "Q", required = true, description = "the query whose nodes move")
    String query;

    @Option(names = "--node", paramLabel = "N", required = true, description = "a node to move; repeat to move several together")
    List<String> nodes = new ArrayList<>();

    @Option(names = "--to", paramLabel = "SITE", required = true, description = "the site to move them to")
    String to;

    @CommandLine.Mixin Endpoint endpoint = new Endpoint();

    @Override
    public Integer call() {
      ManagementClient client = endpoint.client();
      MigrationInstruction instruction = MigrationInstruction.of(query, nodes, to);
      return explained(() -> client.migrate(instruction));
    }
  }

  @Command(
      name = "volume",
      description = "Starts, shows or stops a volume migration (the volume is served over NBD at the target while it copies).",
      synopsisSubcommandLabel = "(start | status | stop | cutover | pause | resume | abort | reverse | policy)",
      subcommands = {VolumeCommand.Start.class, VolumeCommand.Status.class, VolumeCommand.Stop.class,
        VolumeControlCommands.Cutover.class, VolumeControlCommands.Pause.class, VolumeControlCommands.Resume.class, VolumeControlCommands.Abort.class, VolumeControlCommands.Reverse.class, VolumeControlCommands.Policy.class})
  static final class VolumeCommand {

    /** The volume id, as the last word or with {@code --volume}. */
    static final class Volume {
      @Parameters(index = "0", arity = "0..1", paramLabel = "VOL", description = "the volume id")
      String positional;

      @Option(names = "--volume", paramLabel = "VOL", description = "the volume id (instead of VOL)")
      String option;

      String id(String verb) {
        if (positional != null && option != null && !positional.equals(option)) {
          throw new IllegalArgumentException("volume " + verb + " got two volume ids: " + positional + " and --volume " + option);
        }
        String id = positional != null ? positional : option;
        if (id == null) {
          throw new IllegalArgumentException("volume " + verb + " needs a volume id (--volume ID or as the last word)");
        }
        return new VolumeId(id).value(); // checked here: it becomes part of a URL path

      }
    }

    @Command(name = "start", description = "Starts migrating a disk image from one site to another.")
    static final class Start implements Callable<Integer> {
      @CommandLine.Mixin Volume volume = new Volume();

      @Option(names = "--source-site", paramLabel = "SITE", required = true, description = "the site whose member reads the image")
      String sourceSite;

      @Option(names = "--path", paramLabel = "IMAGE", required = true, description = "the image file at the source site")
      String path;

      @Option(names = "--target-site", paramLabel = "SITE", required = true, description = "the site that serves the volume over NBD and receives the copy")
      String targetSite;

      @Option(names = "--block-size", paramLabel = "BYTES", converter = Positive.class, description = "the block size (default: the member's)")
      Long blockSize;

      @Option(names = "--trace", paramLabel = "FILE", description = "record the frontend's block trace into FILE at the target")
      String trace;

      @Option(names = "--encrypt-at-rest", description = "keep the volume encrypted in the target's store, the key at the source site")
      boolean encryptAtRest;

      @Option(names = "--frontends", paramLabel = "N", description = "frontends at the target site: 1, or 2 (clustered: a write is acknowledged once both hold it; the export survives either's member)")
      Integer frontends;

      @Option(names = "--pre-copy", description = "pre-copy (warm) mode: the workload keeps running at the source through Ferry's NBD export there; `ferry volume cutover` copies its changes in passes and moves it with a short pause")
      boolean preCopy;

      @CommandLine.Mixin Endpoint endpoint = new Endpoint();

      @Override
      public Integer call() {
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("sourceSite", sourceSite);
        request.put("sourcePath", path);
        request.put("targetSite", targetSite);
        if (blockSize != null) {
          request.put("blockSize", blockSize);
        }
        if (trace != null) {
          request.put("trace", trace);
        }
        if (encryptAtRest) {
          request.put("encryptAtRest", true);
        }
        if (frontends != null) {
          request.put("frontends", frontends);
        }
        if (preCopy) {
          request.put("preCopy", true);
        }
        request.put("volume", volume.id("start"));
        ManagementClient client = endpoint.client();
        return explained(() -> client.volumeStart(request));
      }
    }

    @Command(name = "status", description = "Shows a volume migration's phase, progress, bytes by kind and NBD URL.")
    static final class Status implements Callable<Integer> {
      @CommandLine.Mixin Volume volume = new Volume();
      @CommandLine.Mixin Endpoint endpoint = new Endpoint();

      @Override
      public Integer call() {
        String id = volume.id("status");
        ManagementClient client = endpoint.client();
        return explained(() -> client.volumeStatus(id));
      }
    }

    @Command(name = "stop", description = "Stops a volume migration; the blocks copied so far stay at the target.")
    static final class Stop implements Callable<Integer> {
      @CommandLine.Mixin Volume volume = new Volume();
      @CommandLine.Mixin Endpoint endpoint = new Endpoint();

      @Override
      public Integer call() {
        String id = volume.id("stop");
        ManagementClient client = endpoint.client();
        return explained(() -> client.volumeStop(id));
      }
    }
  }

  @Command(
      name = "bench",
      description = "Measures pipeline throughput (1 and 3 members) and latency with every batch journaled.")
  static final class BenchCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "ROWS_PER_SOURCE", converter = Positive.class, description = "rows per source (default ${DEFAULT-VALUE})")
    long rows = 500_000;

    @Parameters(index = "1", arity = "0..1", paramLabel = "LATENCY_SECONDS", converter = NonNegative.class, description = "length of the latency run, 0 for none (default ${DEFAULT-VALUE})")
    long latencySeconds = 15;

    @CommandLine.Option(names = "--members", paramLabel = "N[,N]", description = "cluster sizes to measure throughput on, 1 and/or 3 (default ${DEFAULT-VALUE}); --members 1 with LATENCY_SECONDS 0 is the run to set beside a single-JVM peer")
    String members = "1,3";

    @Override
    public Integer call() throws Exception {
      PipelineBench.main(new String[] {Long.toString(rows), Long.toString(latencySeconds), members});
      return 0;
    }
  }

  @Command(
      name = "bench-moves",
      description = "Measures the migration pause edge<->cloud, with small and >10 MB window state, the first (cold) moves, the demo's moves, and failover after a kill -9 (as bench-failover).")
  static final class BenchMovesCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "MOVES_PER_DIRECTION", converter = Positive.class, description = "(default ${DEFAULT-VALUE})")
    long moves = 20;

    @Parameters(
        index = "1",
        arity = "0..1",
        paramLabel = "PARTS",
        description = "all, small, large, demo or failover; all runs every part, failover last (default ${DEFAULT-VALUE})")
    String parts = "all";

    @Option(names = "--kills", paramLabel = "N", converter = Positive.class, description = "kills of the failover part (default ${DEFAULT-VALUE})")
    long kills = 5;

    @Override
    public Integer call() throws Exception {
      if (!List.of("all", "small", "large", "demo", "failover").contains(parts)) {
        throw new CommandLine.ParameterException(new CommandLine(this), "bench-moves parts are all, small, large, demo or failover, got " + parts);
      }
      if (!parts.equals("failover")) {
        MigrationBench.main(new String[] {Long.toString(moves), parts});
      }
      if (parts.equals("all") || parts.equals("failover")) {
        // Failover after a crash: the same program as ferry bench-failover (four member processes).
        FailoverBench.main(new String[] {Long.toString(kills), ""});
      }
      return 0;
    }
  }

  @Command(
      name = "bench-volume",
      description = "Volume migration over an emulated WAN against nbdcopy full-copy-first.")
  static final class BenchVolumeCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "SIZE_MIB", converter = Positive.class, description = "image size (default ${DEFAULT-VALUE})")
    long sizeMiB = 256;

    @Parameters(index = "1", arity = "0..1", paramLabel = "RTT_MS", converter = NonNegative.class, description = "round-trip time (default ${DEFAULT-VALUE})")
    long rttMs = 50;

    @Parameters(index = "2", arity = "0..1", paramLabel = "MBIT", converter = Positive.class, description = "link bandwidth in Mbit/s (default ${DEFAULT-VALUE})")
    long mbit = 100;

    @Parameters(index = "3", arity = "0..1", paramLabel = "READS", converter = NonNegative.class, description = "random reads during the copy (default ${DEFAULT-VALUE})")
    long reads = 100;

    @Override
    public Integer call() throws Exception {
      VolumeBench.main(new String[] {Long.toString(sizeMiB), Long.toString(rttMs), Long.toString(mbit), Long.toString(reads)});
      return 0;
    }
  }

  @Command(
      name = "bench-journal",
      description = {
        "Measures batches/s, rows/s and the recovery time of a 10,000-event node on H2 and Cassandra.",
        "Start Cassandra first with scripts/cassandra start."
      })
  static final class BenchJournalCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "ROWS_PER_SOURCE", converter = Positive.class, description = "(default ${DEFAULT-VALUE})")
    long rows = 300_000;

    @Parameters(index = "1", arity = "0..1", paramLabel = "CASSANDRA_HOST:PORT", description = "a running Cassandra; without it H2 only")
    String cassandra;

    @Override
    public Integer call() throws Exception {
      JournalBench.main(cassandra == null ? new String[] {Long.toString(rows)} : new String[] {Long.toString(rows), cassandra});
      return 0;
    }
  }

  @Command(
      name = "completion",
      description = {
        "Prints a bash/zsh completion script for the ferry commands and options.",
        "Try: source <(./ferry completion) with the launcher on PATH as ferry."
      })
  static final class CompletionCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      CommandLine root = spec.root().commandLine();
      root.getOut().print(AutoComplete.bash(root.getCommandName(), root));
      root.getOut().flush();
      return 0;
    }
  }

  private interface ClientCall {
    int run() throws ManagementClient.Failed;
  }

  /** Runs a client command; a failure it has explained prints its message and exits 1. */
  private static int explained(ClientCall call) {
    try {
      return call.run();
    } catch (ManagementClient.Failed e) {
      System.err.println("ferry: " + e.getMessage());
      return 1;
    }
  }
}
