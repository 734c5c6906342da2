package io.ferry.simulator.rescale;

import io.ferry.placement.MigrationReport.Outcome;
import io.ferry.placement.MoveProcess;
import io.ferry.placement.RescaleProcess;
import io.ferry.query.KeyGroups;
import io.ferry.query.KeySlice;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.query.node.NodeEvent;
import io.ferry.query.node.NodeState;
import io.ferry.query.ops.GeneratorReader;
import io.ferry.query.ops.KeyedWindows;
import io.ferry.query.ops.Operator;
import io.ferry.query.ops.SourceReader;
import io.ferry.query.ops.WindowOperator;
import io.ferry.query.ops.WindowState;
import io.ferry.simulator.check.OnceOnlyCheck;
import io.ferry.simulator.protocol.SimRandom;
import io.ferry.simulator.report.RunReport;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The deterministic tier for live rescaling: a keyed window with parallelism, rescaled once or
 * twice while a seeded stream flows through it, run on the production classes ({@link NodeState}
 * for every node, {@link RescaleProcess} for the manager, {@link KeyGroups}, the window operator).
 * Only the network (pulls, batches, the rescale's asks and replies are delayed, lost and repeated),
 * time, the journals and crashes (a node or the manager restarts from its journal at any moment)
 * are simulated. Checks: the sink delivered exactly the rows of a one-instance reference run
 * (once-only), the stream ended and every rescale ended (liveness), and every instance ends up
 * owning the key groups of the last completed rescale.
 */
public final class RescaleSimulation {
  public static final String SCENARIO = "keyed-rescale";

  private static final QueryId QUERY = new QueryId("rescale");
  private static final NodeId SOURCE = new NodeId("src");
  private static final NodeId WINDOW = new NodeId("w");
  private static final NodeId SINK = new NodeId("out");
  private static final String DEPLOYMENT = "d1";
  private static final long RETAIN_MAX = 400;
  private static final long TICKS_MAX = 400_000;
  private static final RescaleProcess.Settings SETTINGS = new RescaleProcess.Settings(Duration.ofMillis(400), Duration.ofMillis(20), 1_000_000);

  /**
   * @param unsafeRegroup give each instance its new groups but only the state it held itself (the
   *     state of groups that change instance is dropped): the broken variant, to show the once-only
   *     check catches a rescale that does not carry state over
   * @param unsliced instances pull every row, not their key groups' slice (what they did before
   *     slices): the variant that shows the sliced-input check counts what it claims to
   */
  public record Options(double lossRatio, double nodeCrashRatio, double managerCrashRatio, boolean unsafeRegroup, boolean unsliced) {
    public static Options defaults() {
      return new Options(0.05, 0.0005, 0.0003, false, false);
    }

    public Options unsafe() {
      return new Options(lossRatio, nodeCrashRatio, managerCrashRatio, true, unsliced);
    }

    public Options withoutSlices() {
      return new Options(lossRatio, nodeCrashRatio, managerCrashRatio, unsafeRegroup, true);
    }
  }

  /** One run: its checks, what its rescales did, and a hash of its trace (the same seed, the same hash). */
  public record Result(long seed, List<RunReport.Verdict> verdicts, List<RescaleProcess.RescaleReport> rescales, int nodeCrashes,
      int managerCrashes, long rows, String traceHash, int staleCuts) {
    public boolean ok() {
      return verdicts.stream().allMatch(RunReport.Verdict::ok);
    }

    public String describe() {
      StringBuilder b = new StringBuilder("seed " + seed + " (replay with -Dferry.seed=" + seed + ") rows " + rows + ", node crashes "
          + nodeCrashes + ", manager crashes " + managerCrashes + "\n");
      rescales.forEach(r -> b.append("  rescale ").append(r.from()).append("->").append(r.to()).append(' ').append(r.outcome())
          .append(r.reason().isEmpty() ? "" : " (" + r.reason() + ")").append(" cut at ").append(r.anchor()).append('\n'));
      verdicts.forEach(v -> b.append("  ").append(v.checker()).append(v.ok() ? " OK: " : " FAILED: ").append(v.detail()).append('\n'));
      return b.toString();
    }
  }

  public static Result run(long seed, Options options) {
    return new RescaleSimulation(seed, options).go();
  }

  // ---- the simulated world -----------------------------------------------------------------

  private final long seed;
  private final Options options;
  private final SimRandom random;
  private final StringBuilder trace = new StringBuilder();
  private final Map<NodeId, SimNode> nodes = new LinkedHashMap<>();
  private final PriorityQueue<Scheduled> queue = new PriorityQueue<>();
  private final OperatorSpec.Window window;
  private final OperatorSpec.Generate generate;
  private final int maxParallelism;
  private int parallelism;
  private long now;
  private long sequence;
  private long readerAt;
  private final List<Row> delivered = new ArrayList<>();
  /** Rows in the batches the window's instances took: each source row once, when every instance reads its slice only. */
  private long rowsToInstances;
  /** Batches that arrived cut to a slice their instance no longer reads (pulled before a regroup): ignored by it. */
  private int staleCuts;
  private int nodeCrashes;
  private int managerCrashes;

  // the manager
  private RescaleProcess process;
  private final List<RescaleProcess.Event> managerJournal = new ArrayList<>();
  private int incarnation;
  private long timerGeneration;
  private final List<RescaleProcess.RescaleReport> reports = new ArrayList<>();
  private int rescalesLeft;
  private long nextRescaleAt;

  private RescaleSimulation(long seed, Options options) {
    this.seed = seed;
    this.options = options;
    this.random = new SimRandom(seed);
    int keys = (int) random.between(5, 300);
    long count = random.between(400, 2500);
    this.generate = new OperatorSpec.Generate(random.between(0, 1_000_000), keys, count, 1_000_000, random.between(1, 20),
        random.between(0, 200), 0);
    this.window = new OperatorSpec.Window("key", "ts", random.between(50, 2000), random.between(0, 300),
        List.of(new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.COUNT, null, "n"),
            new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.SUM, "value", "total")));
    this.maxParallelism = (int) random.between(2, 6);
    this.parallelism = (int) random.between(1, maxParallelism);
    this.rescalesLeft = (int) random.between(1, 2);
    this.nextRescaleAt = random.between(5, 400);
  }

  private final class SimNode {
    final NodeSpec spec;
    NodeState state = new NodeState();
    final List<NodeEvent> journal = new ArrayList<>();

    SimNode(NodeSpec spec) {
      this.spec = spec;
      persist(new NodeEvent.Configured(spec, DEPLOYMENT));
    }

    void persist(NodeEvent e) {
      journal.add(e);
      state.apply(e);
      if (e instanceof NodeEvent.BatchProcessed b) {
        state.persisted(b);
      }
    }

    void crash() {
      state.close();
      state = new NodeState();
      journal.forEach(state::apply);
      state.recovered();
    }
  }

  private record Scheduled(long at, long order, Runnable action) implements Comparable<Scheduled> {
    @Override
    public int compareTo(Scheduled o) {
      return at != o.at ? Long.compare(at, o.at) : Long.compare(order, o.order);
    }
  }

  private void later(long delay, Runnable action) {
    queue.add(new Scheduled(now + delay, sequence++, action));
  }

  /** A message over the network: delayed, sometimes lost, sometimes delivered twice. */
  private void send(Runnable deliver) {
    if (random.chance(options.lossRatio())) {
      return;
    }
    later(random.between(1, 15), deliver);
    if (random.chance(options.lossRatio() / 2)) {
      later(random.between(1, 40), deliver);
    }
  }

  private void log(String s) {
    trace.append(now).append(' ').append(s).append('\n');
  }

  private Result go() {
    List<NodeDef> defs = List.of(
        new NodeDef(SOURCE, generate, List.of()),
        new NodeDef(WINDOW, window, List.of(SOURCE), parallelism, maxParallelism),
        new NodeDef(SINK, new OperatorSpec.Collect(), List.of(WINDOW)));
    for (NodeSpec s : new QueryGraph(QUERY, defs).compile()) {
      nodes.put(s.id(), new SimNode(s));
    }
    log("start p=" + parallelism + " max=" + maxParallelism);
    while (now < TICKS_MAX && !finished()) {
      now++;
      while (!queue.isEmpty() && queue.peek().at() <= now) {
        queue.poll().action().run();
      }
      step();
    }
    return result();
  }

  private boolean finished() {
    return nodes.get(SINK).state.outputDone() && readerAt == nodes.get(SINK).state.outputAnchor() && process == null && rescalesLeft == 0;
  }

  private void step() {
    SimNode src = nodes.get(SOURCE);
    if (random.chance(0.3) && src.state.wantsInput(RETAIN_MAX)) {
      src.state.readSource((int) random.between(1, 60)).ifPresent(b -> {
        src.persist(b);
        log("read " + b.from() + ".." + b.next());
      });
    }
    for (SimNode n : nodes.values()) {
      if (!n.state.isSource() && random.chance(0.2) && n.state.wantsInput(RETAIN_MAX)) {
        List<NodeId> open = n.state.openInputs();
        if (!open.isEmpty()) {
          pull(n, random.pick(open));
        }
      }
    }
    if (random.chance(0.3)) {
      nodes.get(SINK).state.serve(NodeState.READER, readerAt, (int) random.between(1, 100)).ifPresent(s -> {
        delivered.addAll(s.rows());
        readerAt = s.next();
      });
    }
    if (random.chance(options.nodeCrashRatio())) {
      SimNode n = random.pick(new ArrayList<>(nodes.values()));
      n.crash();
      nodeCrashes++;
      log("crash " + n.spec.id());
    }
    if (process != null && random.chance(options.managerCrashRatio())) {
      crashManager();
    }
    if (process == null && rescalesLeft > 0 && now >= nextRescaleAt) {
      startRescale();
    }
  }

  private void pull(SimNode consumer, NodeId upstream) {
    long after = consumer.state.inputAnchor(upstream);
    int max = (int) random.between(1, 80);
    // the slice as of the pull: delays let its answer arrive after a rescale regrouped the instance
    KeySlice slice = options.unsliced() ? null : consumer.state.inputSlice();
    send(() -> {
      SimNode up = nodes.get(upstream);
      up.state.serve(consumer.spec.id().value(), after, max, slice).ifPresent(served -> {
        if (served.gap()) {
          return; // a stale pull: the consumer has persisted past it
        }
        send(() -> {
          if (served.slice() != null && !served.slice().equals(consumer.state.inputSlice())) {
            staleCuts++;
          }
          deliver(consumer, upstream, served);
        });
      });
    });
  }

  private void deliver(SimNode consumer, NodeId upstream, NodeState.Served served) {
    consumer.state.onBatch(upstream, served.from(), served.rows(), served.next(), served.done(), served.slice(), served.maxTimeLeftOut())
        .ifPresent(b -> {
          if (upstream.equals(SOURCE)) {
            rowsToInstances += served.rows().size();
          }
          consumer.persist(b);
          log(consumer.spec.id() + " took " + upstream + " " + b.from() + ".." + b.next() + (b.upstreamDone() ? " done" : ""));
        });
  }

  // ---- the manager: the production process, its asks over the simulated network ------------

  private void startRescale() {
    int to;
    do {
      to = (int) random.between(1, maxParallelism);
    } while (to == parallelism);
    rescalesLeft--;
    String id = "r" + rescalesLeft + "-" + seed;
    RescaleProcess.RescaleStarted started = new RescaleProcess.RescaleStarted(id, QUERY, DEPLOYMENT, WINDOW, SOURCE,
        KeyGroups.instanceIds(WINDOW, maxParallelism), parallelism, to, now);
    RescaleProcess.Begun b = RescaleProcess.start(SETTINGS, started, MoveProcess.Now.at(now));
    process = b.process();
    managerJournal.clear();
    log("rescale " + parallelism + "->" + to);
    carryOut(b.decision());
  }

  private void crashManager() {
    managerCrashes++;
    incarnation++;
    timerGeneration++;
    RescaleProcess.Rescale r = RescaleProcess.Rescale.started((RescaleProcess.RescaleStarted) managerJournal.get(0));
    for (RescaleProcess.Event e : managerJournal.subList(1, managerJournal.size())) {
      r = r.apply(e);
    }
    log("manager crash at " + r.stage());
    RescaleProcess.Begun b = RescaleProcess.recover(SETTINGS, r);
    process = b.process();
    carryOut(b.decision());
  }

  private void carryOut(RescaleProcess.Decision d) {
    managerJournal.addAll(d.events());
    int inc = incarnation;
    String id = process.rescale().id();
    for (RescaleProcess.Effect e : d.effects()) {
      if (e instanceof RescaleProcess.StartTimer t) {
        long gen = ++timerGeneration;
        later(t.afterMillis(), () -> {
          if (gen == timerGeneration && inc == incarnation) {
            input(new RescaleProcess.TimerFired());
          }
        });
      } else if (e instanceof RescaleProcess.AskPauseUpstream a) {
        send(() -> reply(inc, pauseAnswer(id, nodes.get(a.upstream()))));
      } else if (e instanceof RescaleProcess.AskReport a) {
        send(() -> nodes.get(a.instance()).state.keyedReport().ifPresent(r ->
            reply(inc, new RescaleProcess.InstanceReport(a.instance(), r.anchor(), (WindowState) r.state()))));
      } else if (e instanceof RescaleProcess.AskRegroup a) {
        send(() -> reply(inc, regroupAnswer(id, nodes.get(a.instance()), a)));
      } else if (e instanceof RescaleProcess.AskResumeUpstream a) {
        send(() -> {
          SimNode up = nodes.get(a.upstream());
          NodeState.ResumeAnswer r = up.state.resume(id, true, up.journal.size(), 0);
          if (r instanceof NodeState.PersistResume p) {
            up.persist(p.event());
          }
          reply(inc, new RescaleProcess.UpstreamResumed());
        });
      } else if (e instanceof RescaleProcess.Finish f) {
        RescaleProcess.RescaleReport report = process.rescale().report();
        reports.add(report);
        if (f.outcome() == Outcome.COMPLETED) {
          parallelism = report.to();
        }
        log("rescale ended " + f.outcome() + " " + f.reason());
        process = null;
        nextRescaleAt = now + random.between(5, 300);
      }
    }
  }

  private RescaleProcess.Input pauseAnswer(String id, SimNode up) {
    NodeState.PauseAnswer a = up.state.pause(id);
    if (a instanceof NodeState.PersistPause p) {
      up.persist(p.event());
    } else if (a instanceof NodeState.NotRunningYet) {
      return new RescaleProcess.UpstreamRefused("not running yet", true);
    } else if (a instanceof NodeState.PausedByOther o) {
      return new RescaleProcess.UpstreamRefused("paused by " + o.migrationId(), false);
    } else if (a instanceof NodeState.MigrationOver) {
      return new RescaleProcess.UpstreamRefused("rescale " + id + " has ended", false);
    }
    return new RescaleProcess.UpstreamPaused(up.state.outputAnchor(), up.state.outputDone());
  }

  private RescaleProcess.Input regroupAnswer(String id, SimNode n, RescaleProcess.AskRegroup a) {
    WindowState state = a.state();
    if (options.unsafeRegroup()) {
      WindowState own = (WindowState) n.state.keyedReport().orElseThrow().state();
      state = KeyedWindows.regroup(own, List.of(own), a.range());
    }
    long anchor = a.anchor();
    NodeState.RegroupAnswer r = n.state.regroup(id, a.range().first(), a.range().end(), anchor, state);
    if (r instanceof NodeState.PersistRegroup p) {
      n.persist(p.event());
      log("regroup " + n.spec.id() + " " + a.range() + " at " + anchor);
    } else if (r instanceof NodeState.RegroupRefused x) {
      return new RescaleProcess.RegroupRefused(a.instance(), x.reason());
    }
    return new RescaleProcess.InstanceRegrouped(a.instance());
  }

  /** A reply to an ask: dropped when the manager that asked has died, as an ask's reply is. */
  private void reply(int inc, RescaleProcess.Input input) {
    send(() -> {
      if (inc == incarnation) {
        input(input);
      }
    });
  }

  private void input(RescaleProcess.Input input) {
    if (process != null) {
      carryOut(process.on(input, MoveProcess.Now.at(now)));
    }
  }

  // ---- checks ------------------------------------------------------------------------------

  private Result result() {
    List<RunReport.Verdict> verdicts = new ArrayList<>();
    List<Row> reference = reference();
    verdicts.add(OnceOnlyCheck.check(SINK.value(), reference, delivered));
    boolean ended = nodes.get(SINK).state.outputDone() && process == null && rescalesLeft == 0;
    verdicts.add(new RunReport.Verdict("liveness", ended,
        ended ? "stream and rescales ended by " + now + " ms" : "not ended after " + now + " ms: sink done " + nodes.get(SINK).state.outputDone()
            + ", rescale running " + (process != null ? process.phase() : "none") + ", rescales left " + rescalesLeft));
    StringBuilder owners = new StringBuilder();
    boolean groupsOk = true;
    for (int i = 0; i < maxParallelism; i++) {
      OperatorSpec.Keyed k = (OperatorSpec.Keyed) nodes.get(KeyGroups.instanceId(WINDOW, i)).state.spec().op();
      if (!k.range().equals(KeyGroups.range(i, parallelism))) {
        groupsOk = false;
        owners.append(" instance ").append(i).append(" owns ").append(k.range()).append(" not ").append(KeyGroups.range(i, parallelism));
      }
    }
    boolean once = rowsToInstances == generate.count();
    verdicts.add(new RunReport.Verdict("sliced-input", once, (once ? "" : "not ") + "each of the " + generate.count()
        + " source rows reached one instance: the instances took " + rowsToInstances + " rows"));
    verdicts.add(new RunReport.Verdict("key-groups", groupsOk, groupsOk ? "every instance owns its groups at parallelism " + parallelism : owners.toString()));
    return new Result(seed, verdicts, List.copyOf(reports), nodeCrashes, managerCrashes, delivered.size(), hash(trace.toString()), staleCuts);
  }

  /** The one-instance run: the whole input in one batch through one window, then its end. */
  private List<Row> reference() {
    SourceReader reader = new GeneratorReader(generate);
    SourceReader.Read all = reader.read(0, (int) generate.count());
    Operator w = new WindowOperator(window, OperatorSpec.Generate.SCHEMA);
    List<Row> out = new ArrayList<>();
    Operator.Step s = w.process(all.rows());
    w.apply(s.delta());
    out.addAll(s.outputs());
    out.addAll(w.finish().outputs());
    return out;
  }

  private static String hash(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
