package io.ferry.placement.plan;

import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import io.ferry.placement.plan.Topology.SiteInfo;
import io.ferry.query.NodeId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.jgrapht.alg.flow.PushRelabelMFImpl;
import org.jgrapht.graph.DefaultWeightedEdge;
import org.jgrapht.graph.SimpleDirectedWeightedGraph;

/**
 * The placement planner, a pure function: graph + rates + sites + links + cost model +
 * constraints → a site per node with a reason each (docs/placement.md).
 *
 * <p>When the nodes can only go to two sites (an edge and the cloud), the cheapest placement is a
 * minimum s-t cut (JGraphT's push-relabel): a node's compute price at each site becomes its edges
 * to the two terminals, each query edge an edge of the WAN price of crossing it, and a forbidden
 * site an edge no cut can afford. That is exact when the result fits capacity and bandwidth.
 *
 * <p>With many sites it searches: each edge site's own sub-graph (the nodes fed only by its
 * sources) is cut exactly against the cloud, nodes fed by several sites start in the cloud (or, if
 * PII, at an edge), then single-node moves that lower cost + a penalty on overload run until none
 * helps. Capacity and bandwidth are repaired by the same moves, since the penalty outweighs any
 * price. The bound is in docs/placement.md (exact when each node is fed by one edge site, one cloud
 * and nothing is over capacity; otherwise measured against brute force in the property tests).
 */
public final class Planner {
  /** Local-search passes at most; each pass tries every node at every candidate site. */
  static final int PASSES_MAX = 50;
  /** Rounds of pairwise swap cuts at most; each round cuts every pair of sites worth trying. */
  static final int ROUNDS_MAX = 10;
  /** Above this many sites the query touches, swap cuts pair each edge site only with the cloud sites. */
  static final int ALL_PAIRS_SITES_MAX = 8;

  public record Request(PlanGraph graph, Topology topology, CostModel cost, Constraints constraints) {
    public static Request of(PlanGraph graph, Topology topology, CostModel cost) {
      return new Request(graph, topology, cost, Constraints.none());
    }
  }

  private Planner() {}

  public static Plan plan(Request r) {
    return new Search(r).run();
  }

  private static final class Search {
    final Request r;
    final List<PlanNode> nodes;
    final int n;
    final List<SiteInfo> sites;
    final int m;
    final Map<NodeId, Integer> index = new HashMap<>();
    final Map<Site, Integer> siteIndex = new HashMap<>();
    final int[][] inputs;
    final int[][] outputs;
    final int[][] candidates;
    final boolean[][] allowed;
    /** The edge sites each node's sources are at (and the sites required upstream). */
    final BitSet[] origins;
    BitSet relevant;
    final double[] cores;
    final double[] outBytes;
    final double[] corePrice;
    final Map<Long, Topology.Link> links = new HashMap<>();
    final int[] at;
    final double[] siteCores;
    final Map<Long, Double> linkBytes = new HashMap<>();
    final double penalty;

    Search(Request r) {
      this.r = r;
      nodes = r.graph().nodes();
      n = nodes.size();
      sites = r.topology().sites();
      m = sites.size();
      for (int i = 0; i < m; i++) {
        siteIndex.put(sites.get(i).site(), i);
      }
      for (Topology.Link l : r.topology().links()) {
        links.put(pair(siteIndex.get(l.a().get()), siteIndex.get(l.b().get())), l);
      }
      corePrice = new double[m];
      for (int i = 0; i < m; i++) {
        corePrice[i] = r.cost().corePrice(sites.get(i).tier());
      }
      for (int i = 0; i < n; i++) {
        index.put(nodes.get(i).id(), i);
      }
      inputs = new int[n][];
      cores = new double[n];
      outBytes = new double[n];
      List<List<Integer>> outs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        outs.add(new ArrayList<>());
      }
      double total = 0;
      for (int i = 0; i < n; i++) {
        PlanNode p = nodes.get(i);
        inputs[i] = p.inputs().stream().mapToInt(index::get).toArray();
        for (int in : inputs[i]) {
          outs.get(in).add(i);
        }
        cores[i] = p.cores();
        outBytes[i] = p.outBytesPerSec();
        total += cores[i] + outBytes[i];
      }
      outputs = new int[n][];
      for (int i = 0; i < n; i++) {
        outputs[i] = outs.get(i).stream().mapToInt(Integer::intValue).toArray();
      }
      allowed = new boolean[n][m];
      origins = new BitSet[n];
      candidates = new int[n][];
      computeCandidates();
      at = new int[n];
      siteCores = new double[m];
      // Any overload outweighs any price difference a move can make.
      penalty = 1e6 * (1 + total * (1 + Arrays.stream(corePrice).max().orElse(0)) + r.cost().latencyWeight() * n);
    }

    static long pair(int a, int b) {
      return a < b ? ((long) a << 32) | b : ((long) b << 32) | a;
    }

    Topology.Link link(int a, int b) {
      Topology.Link l = links.get(pair(a, b));
      return l == null ? r.topology().defaultLink() : l;
    }

    /** Price per second of one query edge carrying {@code bytes} between sites a and b. */
    double crossing(int a, int b, double bytes) {
      if (a == b) {
        return 0;
      }
      Topology.Link l = link(a, b);
      return bytes * r.cost().wanPricePerByte(sites.get(a).site(), sites.get(b).site()) / (1 - Math.min(l.lossRatio(), 0.9))
          + r.cost().latencyWeight() * l.oneWaySeconds();
    }

    /**
     * Each node's sites worth trying: the sites the query touches (where its sources' data arrives,
     * where its sinks' readers are, pins) and the cloud sites (all sites when there are at most
     * {@link #ALL_PAIRS_SITES_MAX}), less those the node may not use;
     * every allowed site when that leaves nothing. An edge site the query does not touch only adds
     * WAN, unless capacity forces it, which the fallback covers.
     */
    void computeCandidates() {
      BitSet relevant = new BitSet(m);
      for (int s = 0; s < m; s++) {
        // with few sites every one is worth trying (an untouched edge may relay with less delay)
        if (sites.get(s).tier() == Tier.CLOUD || m <= ALL_PAIRS_SITES_MAX) {
          relevant.set(s);
        }
      }
      for (int node = 0; node < n; node++) {
        final int i = node;
        PlanNode p = nodes.get(i);
        Optional<Site> req = r.constraints().required(p);
        for (int s = 0; s < m; s++) {
          allowed[i][s] = r.constraints().forbidden(p, sites.get(s)).isEmpty();
        }
        origins[i] = new BitSet(m);
        if (req.isPresent()) {
          Integer s = siteIndex.get(req.get());
          if (s == null) {
            throw new PlanException("node " + p.id() + " must run at " + req.get() + ", which is not a site of the topology");
          }
          if (!allowed[i][s]) {
            throw new PlanException(r.constraints().forbidden(p, sites.get(s)).orElseThrow());
          }
          relevant.set(s);
          origins[i].set(s);
        }
        for (int in : inputs[i]) {
          origins[i].or(origins[in]);
        }
      }
      this.relevant = relevant;
      for (int node = 0; node < n; node++) {
        final int i = node;
        PlanNode p = nodes.get(i);
        Optional<Site> req = r.constraints().required(p);
        if (req.isPresent()) {
          candidates[i] = new int[] {siteIndex.get(req.get())};
          continue;
        }
        int[] list = relevant.stream().filter(s -> allowed[i][s]).toArray();
        if (list.length == 0) {
          list = java.util.stream.IntStream.range(0, m).filter(s -> allowed[i][s]).toArray();
        }
        if (list.length == 0) {
          throw new PlanException(
              "node " + p.id() + " has no site it may run at"
                  + (p.pii() ? ": it receives PII fields " + p.piiFields() + " and no edge site has a live member" : ": no site has a live member"));
        }
        candidates[i] = list;
      }
    }

    Plan run() {
      BitSet used = new BitSet(m);
      for (int[] c : candidates) {
        for (int s : c) {
          used.set(s);
        }
      }
      String method;
      if (used.cardinality() <= 2) {
        int a = used.nextSetBit(0);
        int b = used.cardinality() == 2 ? used.nextSetBit(a + 1) : a;
        Arrays.fill(at, a);
        int[] all = java.util.stream.IntStream.range(0, n).toArray();
        if (a != b) {
          cut(all, a, b);
        }
        method = "min-cut";
      } else {
        initialSearch();
        method = "search";
      }
      recomputeUsage();
      double before = overload();
      improve();
      if (!method.equals("min-cut") || before > 0) {
        for (int round = 0; round < ROUNDS_MAX && swaps(); round++) {
          improve();
        }
      }
      if (before > 0) {
        method += "+repair";
      }
      return build(method);
    }

    /** Each edge site's own sub-graph cut exactly against the cloud; nodes fed by several sites start in the cloud. */
    void initialSearch() {
      int cloud = -1;
      for (int s = 0; s < m; s++) {
        SiteInfo info = sites.get(s);
        if (info.tier() == Tier.CLOUD && info.live() && (cloud < 0 || info.freeCores() > sites.get(cloud).freeCores())) {
          cloud = s;
        }
      }
      Map<Integer, List<Integer>> groups = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        int[] c = candidates[i];
        at[i] = c[0];
        if (cloud >= 0 && contains(c, cloud)) {
          at[i] = cloud;
        }
        if (c.length == 1 || cloud < 0) {
          continue;
        }
        int edge = -1;
        int edges = 0;
        for (int o = origins[i].nextSetBit(0); o >= 0; o = origins[i].nextSetBit(o + 1)) {
          if (sites.get(o).tier() == Tier.EDGE && contains(c, o)) {
            edge = o;
            edges++;
          }
        }
        if (edges == 1) {
          groups.computeIfAbsent(edge, k -> new ArrayList<>()).add(i);
        } else if (!allowed[i][at[i]] || nodes.get(i).pii()) {
          at[i] = bestUnary(i);
        }
      }
      for (Map.Entry<Integer, List<Integer>> g : groups.entrySet()) {
        cut(g.getValue().stream().mapToInt(Integer::intValue).toArray(), g.getKey(), cloud);
      }
    }

    static boolean contains(int[] a, int x) {
      for (int v : a) {
        if (v == x) {
          return true;
        }
      }
      return false;
    }

    int bestUnary(int i) {
      int best = candidates[i][0];
      double bestCost = Double.MAX_VALUE;
      for (int s : candidates[i]) {
        double c = cores[i] * corePrice[s];
        if (c < bestCost) {
          best = s;
          bestCost = c;
        }
      }
      return best;
    }

    /**
     * Places {@code members} at site a or b, the cheapest way given every other node where it is:
     * a minimum s-t cut, a on the source side. Costs are scaled so the largest finite capacity is
     * about 1e6, far above the flow algorithm's epsilon.
     */
    void cut(int[] members, int a, int b) {
      int k = members.length;
      int[] local = new int[n];
      Arrays.fill(local, -1);
      for (int j = 0; j < k; j++) {
        local[members[j]] = j;
      }
      double[] costA = new double[k];
      double[] costB = new double[k];
      boolean[] okA = new boolean[k];
      boolean[] okB = new boolean[k];
      List<double[]> pairs = new ArrayList<>();
      double finite = 0;
      for (int j = 0; j < k; j++) {
        int v = members[j];
        okA[j] = contains(candidates[v], a);
        okB[j] = contains(candidates[v], b);
        costA[j] = cores[v] * corePrice[a];
        costB[j] = cores[v] * corePrice[b];
        for (int u : inputs[v]) {
          if (local[u] < 0) {
            costA[j] += crossing(a, at[u], outBytes[u]);
            costB[j] += crossing(b, at[u], outBytes[u]);
          } else {
            pairs.add(new double[] {local[u], j, crossing(a, b, outBytes[u])});
          }
        }
        for (int o : outputs[v]) {
          if (local[o] < 0) {
            costA[j] += crossing(a, at[o], outBytes[v]);
            costB[j] += crossing(b, at[o], outBytes[v]);
          }
        }
        finite += costA[j] + costB[j];
      }
      for (double[] p : pairs) {
        finite += 2 * p[2];
      }
      double scale = finite > 0 ? 1e6 / finite : 1;
      double inf = 2e6;
      SimpleDirectedWeightedGraph<Integer, DefaultWeightedEdge> g = new SimpleDirectedWeightedGraph<>(DefaultWeightedEdge.class);
      int s = k;
      int t = k + 1;
      for (int j = 0; j < k + 2; j++) {
        g.addVertex(j);
      }
      for (int j = 0; j < k; j++) {
        // Cut s->j puts j on the sink side (site b); cut j->t puts it on the source side (site a).
        add(g, s, j, okB[j] ? costB[j] * scale : inf);
        add(g, j, t, okA[j] ? costA[j] * scale : inf);
      }
      for (double[] p : pairs) {
        add(g, (int) p[0], (int) p[1], p[2] * scale);
        add(g, (int) p[1], (int) p[0], p[2] * scale);
      }
      PushRelabelMFImpl<Integer, DefaultWeightedEdge> flow = new PushRelabelMFImpl<>(g);
      flow.calculateMinCut(s, t);
      var sourceSide = flow.getSourcePartition();
      for (int j = 0; j < k; j++) {
        at[members[j]] = sourceSide.contains(j) ? a : b;
      }
    }

    static void add(SimpleDirectedWeightedGraph<Integer, DefaultWeightedEdge> g, int from, int to, double w) {
      if (w <= 0) {
        return;
      }
      DefaultWeightedEdge e = g.getEdge(from, to);
      if (e == null) {
        e = g.addEdge(from, to);
        g.setEdgeWeight(e, w);
      } else {
        g.setEdgeWeight(e, g.getEdgeWeight(e) + w);
      }
    }

    /**
     * One round of swap moves: for each pair of sites, the nodes at either that may run at both
     * are re-cut exactly between the two (everything else stays); kept when the objective drops.
     */
    boolean swaps() {
      boolean better = false;
      for (int a = 0; a < m; a++) {
        for (int b = a + 1; b < m; b++) {
          boolean pairWorthIt = relevant.get(a) && relevant.get(b)
              && (relevant.cardinality() <= ALL_PAIRS_SITES_MAX || sites.get(a).tier() != sites.get(b).tier());
          if (!pairWorthIt || !sites.get(a).live() || !sites.get(b).live()) {
            continue;
          }
          List<Integer> members = new ArrayList<>();
          for (int v = 0; v < n; v++) {
            if ((at[v] == a || at[v] == b) && contains(candidates[v], a) && contains(candidates[v], b)) {
              members.add(v);
            }
          }
          if (members.isEmpty()) {
            continue;
          }
          double before = objective();
          int[] saved = at.clone();
          cut(members.stream().mapToInt(Integer::intValue).toArray(), a, b);
          recomputeUsage();
          double after = objective();
          if (after < before - 1e-12 * (1 + Math.abs(before))) {
            better = true;
          } else {
            System.arraycopy(saved, 0, at, 0, n);
            recomputeUsage();
          }
        }
      }
      return better;
    }

    /** Price per second plus the overload penalty of the current placement. */
    double objective() {
      double c = 0;
      for (int v = 0; v < n; v++) {
        c += cores[v] * corePrice[at[v]];
        for (int u : inputs[v]) {
          c += crossing(at[u], at[v], outBytes[u]);
        }
      }
      return c + penalty * overload();
    }

    void recomputeUsage() {
      Arrays.fill(siteCores, 0);
      linkBytes.clear();
      for (int i = 0; i < n; i++) {
        siteCores[at[i]] += cores[i];
        for (int u : inputs[i]) {
          if (at[u] != at[i]) {
            linkBytes.merge(pair(at[u], at[i]), outBytes[u], Double::sum);
          }
        }
      }
    }

    double siteOver(int s, double used) {
      SiteInfo info = sites.get(s);
      return Math.max(0, info.loadCores() + used - info.cores() * (1 + Evaluation.SLACK) - Evaluation.SLACK) / Math.max(info.cores(), 1e-9);
    }

    double linkOver(long key, double used) {
      int a = (int) (key >>> 32);
      int b = (int) key;
      double bw = link(a, b).bandwidthBytesPerSec();
      return Math.max(0, used - bw * (1 + Evaluation.SLACK)) / bw;
    }

    double overload() {
      double o = 0;
      for (int s = 0; s < m; s++) {
        o += siteOver(s, siteCores[s]);
      }
      for (Map.Entry<Long, Double> e : linkBytes.entrySet()) {
        o += linkOver(e.getKey(), e.getValue());
      }
      return o;
    }

    /**
     * Single-node moves until none helps; then, while something is over capacity or bandwidth,
     * the best move of a node together with its downstream nodes on the same site (a chain of
     * equal-rate nodes only stops crossing a thin link when all of it moves), and again.
     */
    void improve() {
      for (int round = 0; round < PASSES_MAX; round++) {
        improveSingles();
        if (overload() <= 0 || !improveClosure()) {
          return;
        }
      }
    }

    boolean improveClosure() {
      double before = objective();
      int[] bestMove = null;
      int bestTo = -1;
      double best = before - 1e-12 * (1 + Math.abs(before));
      for (int v = 0; v < n; v++) {
        for (int to : candidates[v]) {
          if (to == at[v]) {
            continue;
          }
          int[] closure = downstreamAt(v, to);
          int[] saved = at.clone();
          for (int c : closure) {
            move(c, to);
          }
          double after = objective();
          System.arraycopy(saved, 0, at, 0, n);
          recomputeUsage();
          if (after < best) {
            best = after;
            bestMove = closure;
            bestTo = to;
          }
        }
      }
      if (bestMove == null) {
        return false;
      }
      for (int c : bestMove) {
        move(c, bestTo);
      }
      return true;
    }

    /** v and every node downstream of it, on v's site, that may run at {@code to}. */
    int[] downstreamAt(int v, int to) {
      int site = at[v];
      List<Integer> out = new ArrayList<>();
      boolean[] seen = new boolean[n];
      java.util.ArrayDeque<Integer> todo = new java.util.ArrayDeque<>();
      todo.add(v);
      seen[v] = true;
      while (!todo.isEmpty()) {
        int x = todo.poll();
        out.add(x);
        for (int o : outputs[x]) {
          if (!seen[o] && at[o] == site && contains(candidates[o], to)) {
            seen[o] = true;
            todo.add(o);
          }
        }
      }
      return out.stream().mapToInt(Integer::intValue).toArray();
    }

    void improveSingles() {
      Map<Long, Double> change = new HashMap<>();
      for (int pass = 0; pass < PASSES_MAX; pass++) {
        boolean moved = false;
        for (int v = 0; v < n; v++) {
          if (candidates[v].length == 1) {
            continue;
          }
          int from = at[v];
          int best = from;
          double bestDelta = 0;
          for (int to : candidates[v]) {
            if (to == from) {
              continue;
            }
            double d = cores[v] * (corePrice[to] - corePrice[from]);
            change.clear();
            for (int u : inputs[v]) {
              d += crossing(to, at[u], outBytes[u]) - crossing(from, at[u], outBytes[u]);
              edgeChange(change, at[u], from, to, outBytes[u]);
            }
            for (int o : outputs[v]) {
              d += crossing(to, at[o], outBytes[v]) - crossing(from, at[o], outBytes[v]);
              edgeChange(change, at[o], from, to, outBytes[v]);
            }
            double over = siteOver(from, siteCores[from] - cores[v]) - siteOver(from, siteCores[from])
                + siteOver(to, siteCores[to] + cores[v]) - siteOver(to, siteCores[to]);
            for (Map.Entry<Long, Double> e : change.entrySet()) {
              double used = linkBytes.getOrDefault(e.getKey(), 0.0);
              over += linkOver(e.getKey(), used + e.getValue()) - linkOver(e.getKey(), used);
            }
            double total = d + penalty * over;
            if (total < bestDelta - 1e-12 * (1 + Math.abs(d))) {
              best = to;
              bestDelta = total;
            }
          }
          if (best != from) {
            move(v, best);
            moved = true;
          }
        }
        if (!moved) {
          return;
        }
      }
    }

    static void edgeChange(Map<Long, Double> change, int other, int from, int to, double bytes) {
      if (other != from) {
        change.merge(pair(other, from), -bytes, Double::sum);
      }
      if (other != to) {
        change.merge(pair(other, to), bytes, Double::sum);
      }
    }

    void move(int v, int to) {
      int from = at[v];
      siteCores[from] -= cores[v];
      siteCores[to] += cores[v];
      for (int u : inputs[v]) {
        shift(at[u], from, to, outBytes[u]);
      }
      for (int o : outputs[v]) {
        shift(at[o], from, to, outBytes[v]);
      }
      at[v] = to;
    }

    void shift(int other, int from, int to, double bytes) {
      if (other != from) {
        linkBytes.merge(pair(other, from), -bytes, Double::sum);
      }
      if (other != to) {
        linkBytes.merge(pair(other, to), bytes, Double::sum);
      }
    }

    Plan build(String method) {
      Map<NodeId, Site> placed = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        placed.put(nodes.get(i).id(), sites.get(at[i]).site());
      }
      Evaluation e = Evaluation.of(r.graph(), r.topology(), r.cost(), r.constraints(), placed);
      Map<NodeId, String> reasons = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        reasons.put(nodes.get(i).id(), reason(i));
      }
      return new Plan(r.graph().query(), placed, e.wanBytesPerSec(), e.coresBySite(), e.latencyMs(), e.costPerSecond(), reasons, method, e.violations());
    }

    double wanBytesAround(int v, int s) {
      double b = 0;
      for (int u : inputs[v]) {
        b += at[u] == s ? 0 : outBytes[u];
      }
      for (int o : outputs[v]) {
        b += at[o] == s ? 0 : outBytes[v];
      }
      return b;
    }

    /** Why node i is where it is, against its best alternative. */
    String reason(int i) {
      PlanNode p = nodes.get(i);
      int s = at[i];
      SiteInfo info = sites.get(s);
      StringBuilder b = new StringBuilder(p.id() + " at " + info.site() + ": ");
      if (r.constraints().pins().containsKey(p.id())) {
        b.append("pinned by a user's migration");
      } else if (p.fixed().isPresent()) {
        b.append(p.inputs().isEmpty() ? "its data arrives there" : "its readers are there");
      } else {
        int alt = -1;
        double altCost = Double.MAX_VALUE;
        for (int c = 0; c < m; c++) {
          if (c == s || !contains(candidates[i], c)) {
            continue;
          }
          double d = cores[i] * corePrice[c];
          for (int u : inputs[i]) {
            d += crossing(c, at[u], outBytes[u]);
          }
          for (int o : outputs[i]) {
            d += crossing(c, at[o], outBytes[i]);
          }
          if (d < altCost) {
            alt = c;
            altCost = d;
          }
        }
        List<String> why = new ArrayList<>();
        if (p.pii()) {
          why.add("receives PII " + p.piiFields() + ", edge only");
        }
        if (alt >= 0) {
          String altName = sites.get(alt).site().name();
          double here = wanBytesAround(i, s);
          double there = wanBytesAround(i, alt);
          if (here < there) {
            why.add("cuts WAN from " + Rates.bytes(there) + " to " + Rates.bytes(here) + " (vs " + altName + ")");
          } else if (siteOver(alt, siteCores[alt] + cores[i]) > 0) {
            why.add(String.format(Locale.ROOT, "%s has no room (needs %.2f cores, %.2f free)", altName, cores[i],
                Math.max(0, sites.get(alt).cores() - sites.get(alt).loadCores() - siteCores[alt])));
          } else if (overLinkIfAt(i, alt)) {
            why.add("at " + altName + " its rows would exceed a link's bandwidth");
          } else if (corePrice[s] < corePrice[alt]) {
            why.add(String.format(Locale.ROOT, "compute %.1f x cheaper than at %s", corePrice[alt] / Math.max(corePrice[s], 1e-30), altName));
          } else if (here > there) {
            why.add("WAN " + Rates.bytes(here) + " here, " + Rates.bytes(there) + " at " + altName + ", but cheaper overall");
          } else {
            why.add("no cheaper site (vs " + altName + ")");
          }
        } else {
          why.add("the only site it may run at");
        }
        b.append(String.join("; ", why));
      }
      b.append(String.format(Locale.ROOT, "; %s CPU %.0f %% of %s cores", info.site(),
          100 * (info.loadCores() + siteCores[s]) / Math.max(info.cores(), 1e-9), trim(info.cores())));
      return b.toString();
    }

    boolean overLinkIfAt(int v, int to) {
      int from = at[v];
      Map<Long, Double> change = new HashMap<>();
      for (int u : inputs[v]) {
        edgeChange(change, at[u], from, to, outBytes[u]);
      }
      for (int o : outputs[v]) {
        edgeChange(change, at[o], from, to, outBytes[v]);
      }
      for (Map.Entry<Long, Double> e : change.entrySet()) {
        if (linkOver(e.getKey(), linkBytes.getOrDefault(e.getKey(), 0.0) + e.getValue()) > 0) {
          return true;
        }
      }
      return false;
    }

    static String trim(double cores) {
      return cores == Math.rint(cores) ? String.valueOf((long) cores) : String.format(Locale.ROOT, "%.1f", cores);
    }
  }
}
