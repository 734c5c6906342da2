package io.ferry.api;

import com.typesafe.config.Config;
import io.ferry.blocks.BlockAgent;
import io.ferry.blocks.BlockBackend;
import io.ferry.blocks.BlockFrontend;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import io.ferry.console.MemberProbe;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.node.LogicNode;
import io.ferry.query.node.NodeSettings;
import io.ferry.runtime.MemberSettings;
import io.ferry.runtime.internal.ApiRecords;
import io.ferry.runtime.internal.Deadline;
import io.ferry.runtime.metrics.MemberMetrics;
import io.ferry.runtime.internal.JobService;
import io.ferry.runtime.internal.PlacementHost;
import io.ferry.runtime.internal.PlacementProbe;
import io.ferry.runtime.internal.QueryRegistry;
import io.ferry.tasks.JobId;
import io.ferry.tasks.JobSpec;
import io.ferry.tasks.TaskRunner;
import io.ferry.runtime.internal.ShardLocations;
import io.ferry.runtime.internal.VolumeRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.ClusterSingletonSettings;
import org.apache.pekko.cluster.typed.SingletonActor;

/**
 * Ferry attached to an {@code ActorSystem}: the embedding API. {@code Ferry.get(system)} starts the
 * logic-node sharding and the query registry on a cluster member (it must carry the {@code
 * worker} role and a {@code site-<name>} role to host nodes); then deploy, read and undeploy.
 */
public final class Ferry implements Extension {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Ferry.class);

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final ActorRef<QueryRegistry.Command> registry;
  private final ActorRef<VolumeRegistry.Command> volumes;
  private final Duration askTimeout;
  private final Duration migrationTimeout;
  private final JobService jobs;
  private final ActorRef<PlacementHost.Command> placement;
  private final PlacementHost.Settings placementSettings;
  private final ActorRef<io.ferry.runtime.internal.RescaleHost.Command> rescales;
  private final Duration rescaleTimeout;

  private Ferry(ActorSystem<?> system) {
    Config config = system.settings().config();
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = config.getDuration("ferry.api.ask-timeout");
    MemberMetrics.get(system); // the Prometheus export (and JVM meters) from the start, not from the first scrape
    LogicNode.init(sharding, system, NodeSettings.from(config), MemberSettings.WORKER_ROLE);
    ShardLocations locations =
        new ShardLocations(system, LogicNode.TYPE_KEY.name(), config.getDuration("ferry.registry.location-write-timeout"));
    QueryRegistry.Settings registrySettings =
        new QueryRegistry.Settings(
            config.getDuration("ferry.registry.tick"),
            removalGrace(config),
            config.getDuration("ferry.migration.step-timeout"),
            config.getDuration("ferry.migration.resume-retry"),
            config.getDuration("ferry.migration.hold-before-restore"));
    this.migrationTimeout = config.getDuration("ferry.migration.step-timeout").multipliedBy(4);
    QueryRegistry.Nodes nodes = (q, n) -> LogicNode.entityRef(sharding, q, n);
    this.registry =
        ClusterSingleton.get(system)
            .init(
                SingletonActor.of(
                        Behaviors.supervise(QueryRegistry.create(nodes, locations, registrySettings))
                            .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2)),
                        "ferry-query-registry")
                    .withSettings(
                        ClusterSingletonSettings.create(system)
                            .withRole(MemberSettings.WORKER_ROLE)));
    // Volume migration: an agent on every member hosts backends and frontends; a singleton places them.
    system.systemActorOf(BlockAgent.create(), "ferry-block-agent", org.apache.pekko.actor.typed.Props.empty());
    // Every member tells any member's web console its CPU, heap and timers.
    system.systemActorOf(MemberProbe.create(), "ferry-console-probe", org.apache.pekko.actor.typed.Props.empty());
    this.volumes =
        ClusterSingleton.get(system)
            .init(
                SingletonActor.of(
                        Behaviors.supervise(VolumeRegistry.create(config.getDuration("ferry.registry.tick")))
                            .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2)),
                        "ferry-volume-registry")
                    .withSettings(ClusterSingletonSettings.create(system).withRole(MemberSettings.WORKER_ROLE)));
    // Jobs: the queue host singleton, this member's replica and task slots in its site's pool.
    this.jobs = new JobService(system, this, askTimeout);
    // Placement: a probe on every member measures; the manager singleton re-plans and moves.
    system.systemActorOf(PlacementProbe.create(config.getDuration("ferry.placement.probe-interval")), "ferry-placement-probe",
        org.apache.pekko.actor.typed.Props.empty());
    // Rescaling keyed nodes: a singleton runs each live rescale (RescaleProcess).
    io.ferry.placement.RescaleProcess.Settings rescaleSettings = new io.ferry.placement.RescaleProcess.Settings(
        config.getDuration("ferry.rescale.step-timeout"), config.getDuration("ferry.rescale.retry"), config.getInt("ferry.rescale.entries-max"));
    this.rescaleTimeout = rescaleSettings.stepTimeout().multipliedBy(4);
    this.rescales =
        ClusterSingleton.get(system)
            .init(
                SingletonActor.of(
                        Behaviors.supervise(io.ferry.runtime.internal.RescaleHost.create(nodes, registry, rescaleSettings))
                            .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2)),
                        "ferry-rescale-manager")
                    .withSettings(ClusterSingletonSettings.create(system).withRole(MemberSettings.WORKER_ROLE)));
    this.placementSettings = PlacementHost.Settings.fromConfig(config, migrationTimeout);
    this.placement =
        ClusterSingleton.get(system)
            .init(
                SingletonActor.of(
                        Behaviors.supervise(PlacementHost.create(registry, placementSettings))
                            .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2)),
                        "ferry-placement-manager")
                    .withSettings(ClusterSingletonSettings.create(system).withRole(MemberSettings.WORKER_ROLE)));
  }

  /**
   * How long a removed member's nodes stay placed there. The allocation strategy leaves a dead
   * member's shards to the coordinator, which releases them after the down-removal margin, so
   * nothing needs to wait for that here.
   */
  static Duration removalGrace(Config config) {
    return config.getDuration("ferry.registry.removal-grace");
  }

  /** Ferry on {@code system}, attached on first use. */
  public static Ferry get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  private static final class Id extends ExtensionId<Ferry> {
    static final Id INSTANCE = new Id();

    @Override
    public Ferry createExtension(ActorSystem<?> system) {
      return new Ferry(system);
    }
  }

  /** How long an API call waits for the cluster ({@code ferry.api.ask-timeout}). */
  public Duration askTimeout() {
    return askTimeout;
  }

  /** How long {@link #migrate} waits for a migration to end: four times {@code ferry.migration.step-timeout}. */
  public Duration migrationTimeout() {
    return migrationTimeout;
  }

  /** Deploys a query; fails with {@link FerryException} saying why when it cannot run as placed. */
  public CompletionStage<Deployment> deploy(QueryGraph graph, Placement placement) {
    return deploy(graph, placement, EngineChoice.deployed());
  }

  /** Deploys a query and records how its engine was chosen (its status shows it). */
  public CompletionStage<Deployment> deploy(QueryGraph graph, Placement given, EngineChoice engine) {
    // A keyed node's site places each of its instances that the placement does not name itself.
    Placement placement = new Placement(io.ferry.runtime.internal.KeyedPlacement.expand(graph, given.sites()));
    List<String> unplaced = unplaced(graph, placement);
    if (!unplaced.isEmpty()) {
      // a spec that leaves sites out is placed by the planner; the sites it names stay as named
      return plan(graph, placement.sites(), java.util.Optional.empty())
          .thenCompose(p -> {
            java.util.Map<String, String> sites = new java.util.TreeMap<>(p.sites());
            sites.putAll(placement.sites());
            log.info("query {}: the planner placed {}: {}", graph.id(), unplaced, unplaced.stream().map(n -> p.reasons().get(n)).toList());
            return deploy(graph, new Placement(sites), engine);
          });
    }
    return AskPattern.<QueryRegistry.Command, QueryRegistry.DeployReply>ask(
            registry, r -> new QueryRegistry.Deploy(graph, placement.sites(), engine, r), askTimeout, system.scheduler())
        .thenApply(
            reply -> {
              if (reply instanceof QueryRegistry.Deployed d) {
                return ApiRecords.deployment(d);
              }
              throw new FerryException(((QueryRegistry.Rejected) reply).reason());
            });
  }

  public CompletionStage<Done> undeploy(QueryId query) {
    return AskPattern.<QueryRegistry.Command, QueryRegistry.DeployReply>ask(
            registry, r -> new QueryRegistry.Undeploy(query, r), askTimeout, system.scheduler())
        .thenApply(
            reply -> {
              if (reply instanceof QueryRegistry.Rejected rejected) {
                throw new FerryException(rejected.reason());
              }
              return Done.getInstance();
            });
  }

  /**
   * Reads an in-cluster sink's rows after {@code after}. The call acknowledges every row before
   * {@code after}: the sink may then drop them, so read on from the returned {@code next}.
   */
  public CompletionStage<SinkRows> read(QueryId query, NodeId sink, long after, int max) {
    return node(query, sink).<LogicNode.SinkRows>ask(r -> new LogicNode.Read(after, max, r), askTimeout).thenApply(ApiRecords::sinkRows);
  }

  /**
   * Moves nodes of a running query to another site while the query runs: stop (checkpoint),
   * relocate, restore, resume. Completes when the migration has ended, with a report of its steps
   * and its outcome (COMPLETED at the target, or ROLLED_BACK at the source and why); fails with
   * {@link FerryException} when the instruction is refused (unknown query, node or site, a site
   * with no live member, a node already moving, a move that would carry PII off the edge).
   */
  public CompletionStage<MigrationReport> migrate(MigrationInstruction instruction) {
    // a user's instruction wins over the placement manager and pins its nodes (claim 6)
    placement.tell(new PlacementHost.UserMigration(instruction));
    return AskPattern.<QueryRegistry.Command, QueryRegistry.MigrateReply>ask(
            registry, r -> new QueryRegistry.Migrate(instruction, r), migrationTimeout, system.scheduler())
        .thenApply(
            reply -> {
              if (reply instanceof QueryRegistry.MigrationEnded e) {
                return ApiRecords.report(e);
              }
              throw new FerryException(((QueryRegistry.Rejected) reply).reason());
            })
        .whenComplete(
            (report, failure) ->
                placement.tell(new PlacementHost.UserMoveEnded(instruction, report != null && report.outcome() == MigrationReport.Outcome.COMPLETED,
                    report != null ? report.outcome() + " " + report.reason() : String.valueOf(failure))));
  }

  /**
   * Rescales keyed node {@code node} of {@code query} to {@code parallelism} instances while the
   * query runs: key groups and their window state move between instances at a cut where all of
   * them stand, once-only intact. Completes with the report when the rescale ended (completed, or
   * rolled back and why); fails with {@link FerryException} when it cannot start.
   */
  public CompletionStage<io.ferry.placement.RescaleProcess.RescaleReport> rescale(QueryId query, NodeId node, int parallelism) {
    return AskPattern.<io.ferry.runtime.internal.RescaleHost.Command, io.ferry.runtime.internal.RescaleHost.Reply>ask(
            rescales, r -> new io.ferry.runtime.internal.RescaleHost.Rescale(query, node, parallelism, r), rescaleTimeout, system.scheduler())
        .thenApply(reply -> {
          if (reply instanceof io.ferry.runtime.internal.RescaleHost.Ended e) {
            return e.report();
          }
          throw new FerryException(((io.ferry.runtime.internal.RescaleHost.Refused) reply).reason());
        });
  }

  /** Running and recent rescales of keyed nodes, oldest first. */
  public CompletionStage<List<io.ferry.placement.RescaleProcess.RescaleReport>> rescales() {
    return AskPattern.<io.ferry.runtime.internal.RescaleHost.Command, io.ferry.runtime.internal.RescaleHost.Rescales>ask(
            rescales, io.ferry.runtime.internal.RescaleHost.GetRescales::new, askTimeout, system.scheduler())
        .thenApply(io.ferry.runtime.internal.RescaleHost.Rescales::rescales);
  }

  /** Running and recent migrations, oldest first. */
  public CompletionStage<List<MigrationReport>> migrations() {
    return AskPattern.<QueryRegistry.Command, QueryRegistry.Migrations>ask(
            registry, QueryRegistry.GetMigrations::new, askTimeout, system.scheduler())
        .thenApply(ApiRecords::reports);
  }

  /**
   * The node of the deployed ingest source {@code source} (an {@code OperatorSpec.Ingest} node),
   * empty when no deployed query has one. Its input schema is what posted rows must fit.
   */
  public CompletionStage<java.util.Optional<NodeSpec>> ingestSource(String source) {
    return queries()
        .thenApply(
            all ->
                all.stream()
                    .flatMap(q -> q.nodes().stream())
                    .filter(n -> n.op() instanceof io.ferry.query.OperatorSpec.Ingest i && i.source().equals(source))
                    .findFirst());
  }

  /**
   * Hands rows to an ingest source node wherever it runs; completes once the node has persisted
   * them as one batch, and fails with {@link FerryException} when the node refuses them (its
   * message says whether to retry: a node that is moving or starting takes them later).
   */
  public CompletionStage<IngestReceipt> ingest(NodeSpec source, List<io.ferry.query.Row> rows) {
    if (!(source.op() instanceof io.ferry.query.OperatorSpec.Ingest in)) {
      throw new IllegalArgumentException(source.id() + " is not an ingest source");
    }
    return node(source.query(), source.id())
        .<LogicNode.IngestReply>ask(r -> new LogicNode.Ingest(List.copyOf(rows), r), askTimeout)
        .thenApply(
            reply -> {
              if (reply instanceof LogicNode.Ingested i) {
                return new IngestReceipt(in.source(), source.query(), source.id(), i.from(), i.next());
              }
              LogicNode.IngestRefused r = (LogicNode.IngestRefused) reply;
              throw new FerryException((r.retry() ? "retry later: " : "") + r.reason());
            });
  }

  /** The deployed queries: where each node is placed and the member it runs on. */
  public CompletionStage<List<QueryInfo>> queries() {
    return queries(askTimeout);
  }

  private CompletionStage<List<QueryInfo>> queries(Duration timeout) {
    return AskPattern.<QueryRegistry.Command, QueryRegistry.Queries>ask(
            registry, QueryRegistry.GetQueries::new, timeout, system.scheduler())
        .thenApply(q -> q.queries().stream().map(ApiRecords::query).toList());
  }

  /**
   * The status of every node of a deployed query, where it runs and how far it got; the registry
   * and the nodes are asked within one ask timeout in all.
   */
  public CompletionStage<List<NodeStatus>> status(QueryId query) {
    Deadline deadline = Deadline.in(askTimeout);
    return queries(deadline.remaining())
        .thenCompose(
            all -> {
              QueryInfo info =
                  all.stream()
                      .filter(q -> q.query().equals(query))
                      .findFirst()
                      .orElseThrow(() -> new FerryException("query " + query + " is not deployed"));
              List<CompletableFuture<NodeStatus>> asks = new ArrayList<>();
              Duration left = deadline.remaining();
              info.nodes().forEach(n -> asks.add(nodeStatus(query, n.id(), left).toCompletableFuture()));
              return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
                  .thenApply(v -> asks.stream().map(CompletableFuture::join).toList());
            });
  }

  /** The status of one node, asked wherever it runs; fails with a timeout while it moves or is unplaced. */
  public CompletionStage<NodeStatus> nodeStatus(QueryId query, NodeId node) {
    return nodeStatus(query, node, askTimeout);
  }

  /** The status of one node, waiting at most {@code timeout} (the console asks often and cannot wait out a move). */
  public CompletionStage<NodeStatus> nodeStatus(QueryId query, NodeId node, Duration timeout) {
    return node(query, node)
        .<LogicNode.NodeStatus>ask(LogicNode.GetStatus::new, timeout)
        .thenApply(s -> ApiRecords.nodeStatus(query, node, s));
  }

  /**
   * Starts migrating a volume: its backend opens the source image at the source site, its frontend
   * serves it over NBD at the target site at once (reads fetched on demand) while the rest copies
   * in the background. Fails with {@link FerryException} when refused (a site without a live
   * member, a volume already migrating).
   */
  public CompletionStage<VolumeAccepted> startVolume(VolumeSpec spec) {
    return AskPattern.<VolumeRegistry.Command, VolumeRegistry.Reply>ask(
            volumes, r -> new VolumeRegistry.StartVolume(spec, r), askTimeout, system.scheduler())
        .thenApply(Ferry::accepted);
  }

  /** Stops a volume migration: the export goes away; blocks already copied stay in the target's store. */
  public CompletionStage<VolumeAccepted> stopVolume(VolumeId volume) {
    return AskPattern.<VolumeRegistry.Command, VolumeRegistry.Reply>ask(
            volumes, r -> new VolumeRegistry.StopVolume(volume, r), askTimeout, system.scheduler())
        .thenApply(Ferry::accepted);
  }

  private static VolumeAccepted accepted(VolumeRegistry.Reply reply) {
    if (reply instanceof VolumeRegistry.Accepted a) {
      return ApiRecords.accepted(a);
    }
    throw new FerryException(((VolumeRegistry.Refused) reply).reason());
  }

  /**
   * Asks a running volume migration's target to cut over, pause, resume, abort or reverse; fails
   * with {@link FerryException} saying why when the phase does not allow it (e.g. a cut-over while
   * copying) or the target does not answer.
   */
  public CompletionStage<VolumeControlled> controlVolume(VolumeId volume, VolumeAction action) {
    return control(volume, BlockFrontend.Action.valueOf(action.name()), "");
  }

  /** Changes where the target's writes persist ({@code target-only} or {@code write-back}) while the volume runs. */
  public CompletionStage<VolumeControlled> setWritePolicy(VolumeId volume, io.ferry.blocks.WritePolicy policy) {
    return control(volume, BlockFrontend.Action.POLICY, policy.word());
  }

  private CompletionStage<VolumeControlled> control(VolumeId volume, BlockFrontend.Action action, String policy) {
    Deadline deadline = Deadline.in(askTimeout);
    String verb = action == BlockFrontend.Action.POLICY ? "policy " + policy : action.name().toLowerCase(java.util.Locale.ROOT);
    return registeredVolumes(deadline.remaining())
        .thenCompose(all -> {
          VolumeRegistry.VolumeInfo info = all.stream()
              .filter(v -> v.spec().volume().equals(volume))
              .findFirst()
              .orElseThrow(() -> new FerryException("volume " + volume + " is not migrating"));
          if (info.frontend().isEmpty()) {
            throw new FerryException("volume " + volume + ": its target has no live frontend to ask; try again once it is placed");
          }
          return AskPattern.<BlockFrontend.Command, BlockFrontend.ControlReply>ask(
              info.frontend().get(), r -> new BlockFrontend.Control(action, policy, r), deadline.remaining(), system.scheduler());
        })
        .thenApply(r -> {
          if (!r.accepted()) {
            throw new FerryException("volume " + volume + ": " + verb + " refused in phase " + r.phase() + ": " + r.message());
          }
          return new VolumeControlled(volume, verb, ApiRecords.phase(r.phase()), r.message());
        });
  }

  /** Running volume migrations and where their halves run. */
  public CompletionStage<List<VolumeInfo>> volumes() {
    return registeredVolumes(askTimeout).thenApply(all -> all.stream().map(ApiRecords::volume).toList());
  }

  /** The registry's view, with the addresses of each volume's halves to ask them. */
  private CompletionStage<List<VolumeRegistry.VolumeInfo>> registeredVolumes(Duration timeout) {
    return AskPattern.<VolumeRegistry.Command, VolumeRegistry.Volumes>ask(
            volumes, VolumeRegistry.GetVolumes::new, timeout, system.scheduler())
        .thenApply(VolumeRegistry.Volumes::volumes);
  }

  /**
   * A volume migration's phase, progress and NBD URL, from its frontend and backend; the registry
   * and both halves are asked within one ask timeout in all.
   */
  public CompletionStage<VolumeStatus> volumeStatus(VolumeId volume) {
    Deadline deadline = Deadline.in(askTimeout);
    return registeredVolumes(deadline.remaining())
        .thenCompose(
            all -> {
              VolumeRegistry.VolumeInfo info =
                  all.stream()
                      .filter(v -> v.spec().volume().equals(volume))
                      .findFirst()
                      .orElseThrow(() -> new FerryException("volume " + volume + " is not migrating"));
              Duration left = deadline.remaining();
              CompletableFuture<Optional<BlockFrontend.StatusReply>> f =
                  info.frontend().isEmpty()
                      ? CompletableFuture.completedFuture(Optional.empty())
                      : AskPattern.<BlockFrontend.Command, BlockFrontend.StatusReply>ask(info.frontend().get(), BlockFrontend.GetStatus::new, left, system.scheduler())
                          .thenApply(Optional::of)
                          .exceptionally(e -> Optional.empty())
                          .toCompletableFuture();
              CompletableFuture<Optional<BlockBackend.StatusReply>> b =
                  info.backend().isEmpty()
                      ? CompletableFuture.completedFuture(Optional.empty())
                      : AskPattern.<BlockBackend.Command, BlockBackend.StatusReply>ask(info.backend().get(), BlockBackend.GetStatus::new, left, system.scheduler())
                          .thenApply(Optional::of)
                          .exceptionally(e -> Optional.empty())
                          .toCompletableFuture();
              return f.thenCombine(b, (fr, br) -> ApiRecords.volumeStatus(info, fr, br));
            });
  }

  /**
   * Enqueues a job; acknowledged once {@code replicas} copies are durable on as many members (other
   * sites first). Fails with {@link FerryException} saying why when refused: an unknown kind, bad
   * parameters, a task no pool can satisfy, fewer members than replicas, the same id with other tasks.
   */
  public CompletionStage<JobAccepted> submitJob(JobSpec job, int replicas) {
    return jobs.submit(job, replicas);
  }

  /** Enqueues a job with {@code ferry.jobs.replicas} copies. */
  public CompletionStage<JobAccepted> submitJob(JobSpec job) {
    return jobs.submit(job, jobs.replicas());
  }

  /** Every job the queue holds, with its tasks. */
  public CompletionStage<List<JobStatus>> jobs() {
    return jobs.jobs(Optional.empty());
  }

  /** One job; fails with {@link FerryException} when there is no such job. */
  public CompletionStage<JobStatus> job(JobId job) {
    return jobs.jobs(Optional.of(job)).thenApply(all -> all.stream().findFirst().orElseThrow(() -> new FerryException("no job " + job)));
  }

  /** Cancels a job's unfinished tasks; a running attempt stops at its worker's next renewal. */
  public CompletionStage<JobCancelled> cancelJob(JobId job) {
    return jobs.cancel(job);
  }

  /**
   * Adds a kind of task this member can run; register the same runners on every member before the
   * first job that uses them (the queue host checks submits against its own member's kinds).
   */
  public void registerTaskRunner(TaskRunner runner) {
    jobs.register(runner);
  }

  /** The queue host's counters (leases, renewals, completions, expiries, retries, reassignments). */
  public CompletionStage<io.ferry.tasks.JobQueueHost.StatsReply> jobQueueStats() {
    return jobs.stats();
  }

  private EntityRef<LogicNode.Command> node(QueryId query, NodeId node) {
    return LogicNode.entityRef(sharding, query, node);
  }

  /** The placement manager's decisions, oldest first (the last {@value PlacementHost#HISTORY_MAX}). */
  public CompletionStage<List<PlacementDecision>> decisions() {
    return AskPattern.<PlacementHost.Command, PlacementHost.Decisions>ask(placement, PlacementHost.GetDecisions::new, askTimeout, system.scheduler())
        .thenApply(d -> d.decisions().stream()
            .map(e -> new PlacementDecision(e.at(), e.query(), e.node(), e.kind(), e.from(), e.to(), e.reason()))
            .toList());
  }

  /** Site pairs with the round-trip time their members measured at the manager's last re-plan. */
  public CompletionStage<List<SiteLink>> links() {
    return AskPattern.<PlacementHost.Command, PlacementHost.View>ask(placement, PlacementHost.GetView::new, askTimeout, system.scheduler())
        .thenApply(v -> v.links().stream()
            .map(l -> new SiteLink(l.from(), l.to(), l.rttMs(), l.usedBytesPerSec(), l.lossRatio() < 0 ? null : l.lossRatio(), l.capacityBytesPerSec()))
            .toList());
  }

  /** Per logic node its rates, backlog and state size; per member its CPU and journal write latency (the manager's last re-plan). */
  public CompletionStage<Measurements> measurements() {
    return AskPattern.<PlacementHost.Command, PlacementHost.View>ask(placement, PlacementHost.GetView::new, askTimeout, system.scheduler())
        .thenApply(v -> new Measurements(
            v.nodes().stream().map(n -> new Measurements.Node(n.query(), n.node(), n.site(), n.inRowsPerSec() < 0 ? null : n.inRowsPerSec(),
                n.outRowsPerSec() < 0 ? null : n.outRowsPerSec(), n.backlogRows(), n.stateEntries())).toList(),
            v.members().stream().map(m -> new Measurements.Member(m.address(), m.site(), m.cpu() < 0 ? null : m.cpu(),
                m.journalWriteMs() < 0 ? null : m.journalWriteMs())).toList()));
  }

  /**
   * Plans {@code graph} without deploying it: on {@code topology} (a topology block, see
   * docs/placement.md) when given, else on the cluster as the placement manager last saw it.
   * {@code ends} names the sites of sources (where their data arrives) and of sinks.
   */
  public CompletionStage<PlacementPlan> plan(QueryGraph graph, Map<String, String> ends, java.util.Optional<com.typesafe.config.Config> topology) {
    CompletionStage<io.ferry.placement.plan.Topology> on = topology.isPresent()
        ? java.util.concurrent.CompletableFuture.completedFuture(io.ferry.placement.plan.Topology.fromConfig(topology.get()))
        : AskPattern.<PlacementHost.Command, PlacementHost.View>ask(placement, PlacementHost.GetView::new, askTimeout, system.scheduler())
            .thenApply(v -> {
              if (v.sites().isEmpty()) {
                throw new FerryException("the placement manager has not seen the cluster yet (it re-plans every "
                    + placementSettings.manager().rePlanInterval() + "); try again, or give a topology");
              }
              return PlacementHost.topologyOf(v, placementSettings.defaultLink());
            });
    return on.thenApply(t -> PlacementHost.plan(graph, ends, t, placementSettings.cost()));
  }

  /** Sites with their cores and load as the placement manager saw them at its last re-plan. */
  public CompletionStage<List<SiteLoad>> sites() {
    return AskPattern.<PlacementHost.Command, PlacementHost.View>ask(placement, PlacementHost.GetView::new, askTimeout, system.scheduler())
        .thenApply(v -> v.sites().stream().map(s -> new SiteLoad(s.site(), s.tier(), s.cores(), s.loadCores(), s.live())).toList());
  }

  /** Overrides {@code site}'s cores for the placement manager; a negative value drops the override. */
  public void placementCapacity(String site, double cores) {
    placement.tell(new PlacementHost.SetCapacity(site, cores));
  }

  /** The placement mode (manual or automatic) of the cluster ({@code query} null) or of one query ({@code mode} null: the cluster's). */
  public void placementMode(String query, String mode) {
    placement.tell(new PlacementHost.SetMode(query, mode));
  }

  /**
   * Sets the placement mode, {@code manual} (proposals only) or {@code automatic}, of the cluster
   * ({@code query} null) or of one query ({@code default}: the cluster's again); fails with
   * {@link FerryException} for an unknown mode or a query the manager has not seen. Not persisted:
   * a new manager (after its member leaves) starts from {@code ferry.placement.manager.mode}.
   */
  public CompletionStage<Done> changePlacementMode(String query, String mode) {
    return AskPattern.<PlacementHost.Command, PlacementHost.Changed>ask(
            placement, r -> new PlacementHost.ChangeMode(query, mode, r), askTimeout, system.scheduler())
        .thenApply(Ferry::changed);
  }

  /** Lifts a user's pin of {@code node} (its migration instruction pinned it), so the placement manager may move it again. */
  public CompletionStage<Done> unpin(String query, String node) {
    return AskPattern.<PlacementHost.Command, PlacementHost.Changed>ask(
            placement, r -> new PlacementHost.Unpin(query, node, r), askTimeout, system.scheduler())
        .thenApply(Ferry::changed);
  }

  private static Done changed(PlacementHost.Changed c) {
    if (c.error() != null) {
      throw new FerryException(c.error());
    }
    return Done.getInstance();
  }

  /** Nodes of {@code graph} that {@code placement} gives no site; none when the graph does not compile (the registry says why). */
  private static List<String> unplaced(QueryGraph graph, Placement placement) {
    try {
      return graph.compile().stream().map(n -> n.id().value()).filter(n -> !placement.sites().containsKey(n)).toList();
    } catch (RuntimeException e) {
      return List.of();
    }
  }
}
