package io.ferry.placement.plan;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.Site;
import io.ferry.placement.plan.Decision.Kind;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The placement manager's logic, pure (no clock, no actor): re-plans each query from measurements
 * at every tick, and proposes or runs moves whose gain passes a threshold for a hold time, with a
 * cool-down per node (docs/placement.md). A placement that breaks capacity, bandwidth or has nodes
 * at a site with no live member is fixed at once, without the hold. The actor shell and the
 * simulator call it and carry out its {@link MoveOrder}s through the one migration process.
 */
public final class PlacementManager {

  public enum Mode {
    /** proposals only: a person runs them */
    MANUAL,
    /** proposals that hold are run */
    AUTOMATIC;

    public static Mode parse(String s) {
      for (Mode m : values()) {
        if (m.name().equalsIgnoreCase(s)) {
          return m;
        }
      }
      throw new IllegalArgumentException("a placement mode must be manual or automatic, got '" + s + "'");
    }

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * @param rePlanInterval how often the host calls {@link #tick}
   * @param gainThreshold the share of cost a new plan must save (0.15: 15 %) to be proposed
   * @param holdTime how long a proposal whose gain is just the threshold must hold before it runs
   *     (a larger gain holds proportionally shorter)
   * @param coolDown how long a moved node stays where it was put
   * @param mode the cluster's mode; a query may override it
   * @param capacityHeadroom the share of each site's cores plans leave free (0.05: 5 %), so that
   *     meters' noise does not turn a plan that just fits into an overload; cut to a fifth, then
   *     dropped, when nothing fits with it
   */
  public record Settings(Duration rePlanInterval, double gainThreshold, Duration holdTime, Duration coolDown, Mode mode, double capacityHeadroom) {
    public Settings {
      if (rePlanInterval.isNegative() || rePlanInterval.isZero()) {
        throw new IllegalArgumentException("ferry.placement.manager.re-plan-interval must be positive, got " + rePlanInterval);
      }
      if (!(gainThreshold >= 0 && gainThreshold < 1)) {
        throw new IllegalArgumentException("ferry.placement.manager.gain-threshold must be in [0, 1), got " + gainThreshold);
      }
      if (!(capacityHeadroom >= 0 && capacityHeadroom < 0.5)) {
        throw new IllegalArgumentException("ferry.placement.manager.capacity-headroom must be in [0, 0.5), got " + capacityHeadroom);
      }
      if (holdTime.isNegative() || coolDown.isNegative()) {
        throw new IllegalArgumentException("ferry.placement.manager hold-time and cool-down must not be negative");
      }
    }

    public static Settings fromConfig(Config placement) {
      try {
        Config c = placement.getConfig("manager");
        return new Settings(c.getDuration("re-plan-interval"), c.getDouble("gain-threshold"), c.getDuration("hold-time"),
            c.getDuration("cool-down"), Mode.parse(c.getString("mode")), c.getDouble("capacity-headroom"));
      } catch (ConfigException e) {
        throw new IllegalArgumentException("invalid ferry.placement.manager: " + e.getMessage(), e);
      }
    }
  }

  /**
   * Move these nodes (downstream-first) to {@code instruction.toSite()}; {@code reason} says why;
   * {@code forced}: a node in its cool-down moves because the placement broke a hard limit
   * (capacity, bandwidth, no live member) that nothing else could fix.
   */
  public record MoveOrder(MigrationInstruction instruction, String reason, boolean forced) {}

  /** What a tick decided and what the host must now run (in order). */
  public record Outcome(List<Decision> decisions, List<MoveOrder> moves) {}

  /** A proposal waiting out its hold time. */
  private record Pending(Map<NodeId, Site> target, long sinceMillis) {}

  private static final class QueryState {
    PlanGraph graph;
    final Map<NodeId, Site> at = new LinkedHashMap<>();
    final Map<NodeId, Site> pins = new HashMap<>();
    final Map<NodeId, Long> movedAt = new HashMap<>();
    /** The last decision said per node, so a tick does not repeat what the previous one said. */
    final Map<NodeId, String> said = new HashMap<>();
    Optional<Mode> mode = Optional.empty();
    Pending pending;
    /** Moves of this query in flight: no new decision until they end. */
    int moving;
    String saidAboutQuery = "";
  }

  private final Settings settings;
  private final CostModel cost;
  private final Map<QueryId, QueryState> queries = new TreeMap<>((a, b) -> a.value().compareTo(b.value()));
  private Mode mode;

  private PlacementManager(Settings settings, CostModel cost) {
    this.settings = settings;
    this.cost = cost;
    this.mode = settings.mode();
  }

  public static PlacementManager create(Settings settings, CostModel cost) {
    return new PlacementManager(settings, cost);
  }

  public Settings settings() {
    return settings;
  }

  public CostModel cost() {
    return cost;
  }

  /** A query now runs with {@code at}; its graph holds the estimates until measurements arrive. */
  public void deployed(PlanGraph graph, Map<NodeId, Site> at) {
    QueryState q = new QueryState();
    q.graph = graph;
    for (PlanNode n : graph.nodes()) {
      q.at.put(n.id(), Objects.requireNonNull(at.get(n.id()), () -> "no site for node " + n.id()));
    }
    queries.put(graph.query(), q);
  }

  public void removed(QueryId query) {
    queries.remove(query);
  }

  public void mode(Mode m) {
    this.mode = m;
  }

  public void mode(QueryId query, Optional<Mode> m) {
    state(query).mode = m;
  }

  public Mode mode(QueryId query) {
    return state(query).mode.orElse(mode);
  }

  public Map<NodeId, Site> placement(QueryId query) {
    return Map.copyOf(state(query).at);
  }

  public Map<NodeId, Site> pins(QueryId query) {
    return Map.copyOf(state(query).pins);
  }

  private QueryState state(QueryId query) {
    QueryState q = queries.get(query);
    if (q == null) {
      throw new IllegalArgumentException("the placement manager knows no query " + query);
    }
    return q;
  }

  /**
   * A user's migration instruction wins (claim 6): its nodes are pinned at its target until
   * unpinned, and the manager's own pending proposal for them is dropped. One that would put a PII
   * node off the edge, or a node where no member lives, is refused: SKIPPED decisions, no pin.
   */
  public List<Decision> userMigration(MigrationInstruction m, Topology topology, long now) {
    QueryState q = state(m.query());
    List<Decision> out = new ArrayList<>();
    Topology.SiteInfo target = topology.byId().get(m.toSite());
    Map<NodeId, PlanNode> nodes = q.graph.byId();
    for (NodeId n : m.nodes()) {
      PlanNode node = nodes.get(n);
      if (node == null) {
        throw new IllegalArgumentException("query " + m.query() + " has no node " + n);
      }
      Optional<String> no = target == null
          ? Optional.of(m.toSite() + " is not a site of the cluster: no live member there")
          : new Constraints(Map.of()).forbidden(node, target);
      if (no.isPresent()) {
        out.add(new Decision(now, m.query(), Optional.of(n), Kind.SKIPPED, q.at.get(n), m.toSite(), causeOf(no.get()) + ": " + no.get()));
      }
    }
    if (!out.isEmpty()) {
      return out;
    }
    for (NodeId n : m.nodes()) {
      q.pins.put(n, m.toSite());
      out.add(new Decision(now, m.query(), Optional.of(n), Kind.EXECUTED, q.at.get(n), m.toSite(),
          "a user's migration instruction; pinned at " + m.toSite() + " until unpinned"));
    }
    q.pending = null;
    return out;
  }

  public void unpin(QueryId query, NodeId node) {
    state(query).pins.remove(node);
  }

  /** A move ended: committed (the nodes are at {@code to}) or rolled back (they stayed). */
  public List<Decision> moveEnded(QueryId query, List<NodeId> nodes, Site to, boolean committed, String detail, long now) {
    QueryState q = state(query);
    q.moving = Math.max(0, q.moving - 1);
    if (committed) {
      nodes.forEach(n -> q.at.put(n, to));
      return List.of();
    }
    List<Decision> out = new ArrayList<>();
    for (NodeId n : nodes) {
      out.add(new Decision(now, query, Optional.of(n), Kind.SKIPPED, q.at.get(n), to, "the move was rolled back: " + detail));
    }
    return out;
  }

  /** A move the manager did not order (a user's) started: no other move of the query starts meanwhile. */
  public void moveStarted(QueryId query, List<NodeId> nodes, long now) {
    QueryState q = state(query);
    q.moving++;
    nodes.forEach(n -> q.movedAt.put(n, now));
  }

  /**
   * Re-plans every query from {@code measured} on {@code topology}, whose site loads are measured
   * totals (every query's nodes included): each query is planned against the load of everything
   * but itself, and the moves ordered earlier in the tick are counted in for the ones after.
   */
  public Outcome tick(long now, Topology topology, Map<QueryId, Map<NodeId, PlanGraph.Measured>> measured) {
    List<Decision> decisions = new ArrayList<>();
    List<MoveOrder> moves = new ArrayList<>();
    Map<Site, Double> load = new HashMap<>();
    topology.sites().forEach(s -> load.put(s.site(), s.loadCores()));
    for (Map.Entry<QueryId, QueryState> e : queries.entrySet()) {
      QueryState q = e.getValue();
      q.graph = q.graph.withMeasured(measured.getOrDefault(e.getKey(), Map.of()));
      if (q.moving > 0) {
        continue;
      }
      Map<Site, Double> own = new HashMap<>();
      Map<NodeId, PlanNode> nodes = q.graph.byId();
      q.at.forEach((n, s) -> own.merge(s, nodes.get(n).cores(), Double::sum));
      Topology view = new Topology(
          topology.sites().stream().map(s -> s.withLoad(Math.max(0, load.get(s.site()) - own.getOrDefault(s.site(), 0.0)))).toList(),
          topology.links(), topology.defaultLink());
      int before = moves.size();
      Map<NodeId, PlanGraph.Measured> m = measured.getOrDefault(e.getKey(), Map.of());
      // no rows moved anywhere in the query since the last tick (its data ended or paused): what it would save is noise
      boolean idle = !m.isEmpty() && m.values().stream().allMatch(r -> r.inRowsPerSec() <= 0 && r.outRowsPerSec() <= 0);
      tickQuery(now, view, e.getKey(), q, idle, decisions, moves);
      for (MoveOrder o : moves.subList(before, moves.size())) {
        for (NodeId n : o.instruction().nodes()) {
          double c = nodes.get(n).cores();
          load.merge(q.at.get(n), -c, Double::sum);
          load.merge(o.instruction().toSite(), c, Double::sum);
        }
      }
    }
    return new Outcome(decisions, moves);
  }

  private boolean cooling(QueryState q, NodeId n, long now) {
    Long t = q.movedAt.get(n);
    return t != null && now - t < settings.coolDown().toMillis();
  }

  private void tickQuery(long now, Topology topology, QueryId query, QueryState q, boolean idle, List<Decision> decisions, List<MoveOrder> moves) {
    Map<Site, Topology.SiteInfo> sites = topology.byId();
    if (!sites.keySet().containsAll(q.at.values())) {
      // A node is placed at a site the topology does not know yet: no member of it has been seen
      // up since this manager started (members join one by one, and a query may be deployed
      // before the last of them is up). Its tier and capacity are unknown, so the placement
      // cannot be judged; the next tick plans the query once a member of that site is up.
      return;
    }
    Constraints userPins = new Constraints(q.pins);
    Map<NodeId, Site> held = new HashMap<>(q.pins);
    for (NodeId n : q.at.keySet()) {
      Topology.SiteInfo s = sites.get(q.at.get(n));
      // a cooling node stays, unless its site has lost every member: then it must go
      if (!held.containsKey(n) && cooling(q, n, now) && s != null && s.live()) {
        held.put(n, q.at.get(n));
      }
    }
    Evaluation current = Evaluation.of(q.graph, topology, cost, userPins, q.at);
    List<String> broken = new ArrayList<>(current.violations());
    for (Map.Entry<NodeId, Site> a : q.at.entrySet()) {
      Topology.SiteInfo s = sites.get(a.getValue());
      if (s == null || !s.live()) {
        broken.add(a.getKey() + " is at " + a.getValue() + ", which has no live member");
      }
    }
    Plan plan;
    boolean forced = false;
    try {
      plan = planWithHeadroom(q.graph, topology, new Constraints(held));
      if (!broken.isEmpty() && !plan.fits() && held.size() > q.pins.size()) {
        // a hard limit is broken and only moving a cooling node fixes it: the limit wins
        Plan free = planWithHeadroom(q.graph, topology, userPins);
        if (free.fits()) {
          plan = free;
          forced = true;
        }
      }
    } catch (PlanException ex) {
      String said = "no plan: " + ex.getMessage();
      if (!said.equals(q.saidAboutQuery)) {
        q.saidAboutQuery = said;
        Site any = q.at.values().iterator().next();
        decisions.add(new Decision(now, query, Optional.empty(), Kind.SKIPPED, any, any, causeOf(ex.getMessage()) + ": " + ex.getMessage()));
      }
      return;
    }
    q.saidAboutQuery = "";
    Map<NodeId, Site> diff = new LinkedHashMap<>();
    for (PlanNode n : q.graph.nodes()) {
      if (!plan.site(n.id()).equals(q.at.get(n.id()))) {
        diff.put(n.id(), plan.site(n.id()));
      }
    }
    if (!forced) {
      reportCooling(now, topology, query, q, held, decisions);
    }
    if (diff.isEmpty() && plan.fits()) {
      dropPending(now, query, q, decisions, "the proposal no longer holds: the best plan now keeps the nodes where they are");
      return;
    }
    if (!plan.fits()) {
      String said = "capacity: no placement fits: " + String.join("; ", plan.violations());
      for (Map.Entry<NodeId, Site> d : diff.entrySet()) {
        say(q, decisions, new Decision(now, query, Optional.of(d.getKey()), Kind.SKIPPED, q.at.get(d.getKey()), d.getValue(), said));
      }
      if (diff.isEmpty() && !said.equals(q.saidAboutQuery)) {
        q.saidAboutQuery = said;
        Site any = q.at.values().iterator().next();
        decisions.add(new Decision(now, query, Optional.empty(), Kind.SKIPPED, any, any, said));
      }
      q.pending = null;
      return;
    }
    boolean urgent = !broken.isEmpty();
    if (!urgent && idle) {
      dropPending(now, query, q, decisions, "the proposal no longer holds: no rows flowed in the query since the last re-plan");
      return;
    }
    double gain = current.costPerSecond() > 0 ? (current.costPerSecond() - plan.costPerSecond()) / current.costPerSecond() : 0;
    String why = urgent
        ? (forced ? "forced within its cool-down: " : "") + "the current placement breaks: " + String.join("; ", broken)
        : String.format(Locale.ROOT, "cost %.3g -> %.3g per s (%.0f %% less)", current.costPerSecond(), plan.costPerSecond(), 100 * gain);
    if (!urgent && gain < settings.gainThreshold()) {
      dropPending(now, query, q, decisions, "the proposal no longer holds: the gain fell below the threshold: " + why);
      return;
    }
    if (q.pending == null || !q.pending.target().equals(diff)) {
      q.pending = new Pending(Map.copyOf(diff), now);
    }
    long heldFor = now - q.pending.sinceMillis();
    long hold = holdMillis(gain);
    boolean ready = urgent || heldFor >= hold;
    if (!ready || mode(query) == Mode.MANUAL) {
      for (Map.Entry<NodeId, Site> d : diff.entrySet()) {
        String wait = ready ? "manual mode: run it with ferry migrate" : "held " + heldFor / 1000 + " of " + (hold + 999) / 1000 + " s";
        say(q, decisions, new Decision(now, query, Optional.of(d.getKey()), Kind.PROPOSED, q.at.get(d.getKey()), d.getValue(),
            plan.reasons().get(d.getKey()) + "; " + why + "; " + wait));
      }
      return;
    }
    // one move per target site, the site of the most downstream moving node first: sub-graphs
    // move downstream-first; the host runs them in this order
    List<PlanNode> order = new ArrayList<>(q.graph.nodes());
    java.util.Collections.reverse(order);
    Map<Site, List<NodeId>> groups = new LinkedHashMap<>();
    for (PlanNode n : order) {
      Site to = diff.get(n.id());
      if (to != null) {
        groups.computeIfAbsent(to, k -> new ArrayList<>()).add(n.id());
      }
    }
    for (Map.Entry<Site, List<NodeId>> g : groups.entrySet()) {
      Site to = g.getKey();
      List<NodeId> group = g.getValue();
      // a cooling node moves only when a hard limit is broken (forced, or its site has no live member)
      boolean overrides = urgent && group.stream().anyMatch(n -> cooling(q, n, now));
      for (NodeId n : group) {
        Decision d = new Decision(now, query, Optional.of(n), Kind.EXECUTED, q.at.get(n), to, plan.reasons().get(n) + "; " + why);
        decisions.add(d);
        q.said.put(n, d.kind() + " " + d.to());
        q.movedAt.put(n, now);
      }
      q.moving++;
      moves.add(new MoveOrder(new MigrationInstruction(query, group, to), why, overrides));
    }
    q.pending = null;
  }

  /**
   * How long a proposal saving {@code gain} of the cost must hold: the hold time at the threshold,
   * shorter as the gain grows (hold x threshold / gain), so that what it saves while held is the
   * same; a gain worth three times the threshold waits a third as long. Hysteresis stays: never
   * less than two re-plan intervals (or the hold time, if shorter), so three re-plans in a row must
   * agree (a rate blip, such as a moved node draining its backlog, does not last that long), and a
   * node's cool-down still applies.
   */
  long holdMillis(double gain) {
    long full = settings.holdTime().toMillis();
    long floor = Math.min(full, 2 * settings.rePlanInterval().toMillis());
    return gain <= settings.gainThreshold() ? full : Math.max(floor, (long) Math.ceil(full * settings.gainThreshold() / gain));
  }

  private static void dropPending(long now, QueryId query, QueryState q, List<Decision> decisions, String why) {
    if (q.pending == null) {
      return;
    }
    for (Map.Entry<NodeId, Site> d : q.pending.target().entrySet()) {
      say(q, decisions, new Decision(now, query, Optional.of(d.getKey()), Kind.SKIPPED, q.at.get(d.getKey()), d.getValue(), why));
    }
    q.pending = null;
  }

  /** The plan with the settings' headroom, or with a fifth of it, or none, whichever fits first. */
  private Plan planWithHeadroom(PlanGraph graph, Topology topology, Constraints constraints) {
    for (double h : new double[] {settings.capacityHeadroom(), settings.capacityHeadroom() / 5}) {
      if (h <= 0) {
        continue;
      }
      Topology tight = new Topology(
          topology.sites().stream().map(s -> new Topology.SiteInfo(s.site(), s.tier(), s.cores() * (1 - h), s.loadCores(), s.live())).toList(),
          topology.links(), topology.defaultLink());
      Plan p = Planner.plan(new Planner.Request(graph, tight, cost, constraints));
      if (p.fits()) {
        return p;
      }
    }
    return Planner.plan(new Planner.Request(graph, topology, cost, constraints));
  }

  /** Says that a cooling node would have moved, once per wish. */
  private void reportCooling(long now, Topology topology, QueryId query, QueryState q, Map<NodeId, Site> held, List<Decision> decisions) {
    boolean anyCooling = held.keySet().stream().anyMatch(n -> !q.pins.containsKey(n));
    if (!anyCooling) {
      return;
    }
    Plan free;
    try {
      free = Planner.plan(new Planner.Request(q.graph, topology, cost, new Constraints(q.pins)));
    } catch (PlanException e) {
      return;
    }
    for (NodeId n : held.keySet()) {
      if (q.pins.containsKey(n) || free.site(n).equals(q.at.get(n))) {
        continue;
      }
      long left = settings.coolDown().toMillis() - (now - q.movedAt.get(n));
      say(q, decisions, new Decision(now, query, Optional.of(n), Kind.SKIPPED, q.at.get(n), free.site(n),
          "cool-down: moved " + (now - q.movedAt.get(n)) / 1000 + " s ago, may move again in " + (left + 999) / 1000 + " s"));
    }
  }

  /** Adds {@code d} unless the previous decision about its node said the same. */
  private static void say(QueryState q, List<Decision> decisions, Decision d) {
    NodeId n = d.node().orElseThrow();
    String key = d.kind() + " " + d.to() + " " + d.reason().replaceAll("[0-9.]+", "#");
    if (!key.equals(q.said.get(n))) {
      q.said.put(n, key);
      decisions.add(d);
    }
  }

  private static String causeOf(String message) {
    if (message.contains("PII")) {
      return "PII";
    }
    if (message.contains("no live member")) {
      return "no live member";
    }
    return "no plan";
  }
}
