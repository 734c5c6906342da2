package io.ferry.placement.plan;

import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The sites a plan may use and the links between them: capacity and load measured (or configured),
 * round-trip times probed. A pair with no link listed gets {@code defaultLink}.
 */
public record Topology(List<SiteInfo> sites, List<Link> links, Link defaultLink) {
  public static final int SITES_MAX = 10_000;

  /**
   * @param cores cores the site offers to logic nodes
   * @param loadCores cores already in use by everything the plan does not place (other queries,
   *     volumes, the members themselves)
   * @param live false when the site has no live member: nothing may be placed there
   */
  public record SiteInfo(Site site, Tier tier, double cores, double loadCores, boolean live) {
    public SiteInfo {
      if (!(cores >= 0) || !(loadCores >= 0)) {
        throw new IllegalArgumentException("site " + site + ": cores and load must be >= 0, got " + cores + " and " + loadCores);
      }
    }

    public static SiteInfo of(String name, Tier tier, double cores) {
      return new SiteInfo(Site.of(name), tier, cores, 0, true);
    }

    public SiteInfo withLoad(double load) {
      return new SiteInfo(site, tier, cores, load, live);
    }

    public double freeCores() {
      return cores - loadCores;
    }
  }

  /** A link between two sites, the same both ways; {@code a}/{@code b} are empty on the default link. */
  public record Link(Optional<Site> a, Optional<Site> b, Duration rtt, double bandwidthBytesPerSec, double lossRatio) {
    public Link {
      if (rtt.isNegative() || !(bandwidthBytesPerSec > 0) || !(lossRatio >= 0 && lossRatio <= 1)) {
        throw new IllegalArgumentException(
            "link " + a.map(Site::name).orElse("*") + "<->" + b.map(Site::name).orElse("*") + ": rtt >= 0, bandwidth > 0 and loss in [0,1] are needed, got "
                + rtt + ", " + bandwidthBytesPerSec + " B/s, " + lossRatio);
      }
    }

    public static Link between(String a, String b, Duration rtt, double bandwidthBytesPerSec) {
      return new Link(Optional.of(Site.of(a)), Optional.of(Site.of(b)), rtt, bandwidthBytesPerSec, 0);
    }

    public static Link fallback(Duration rtt, double bandwidthBytesPerSec) {
      return new Link(Optional.empty(), Optional.empty(), rtt, bandwidthBytesPerSec, 0);
    }

    /** One-way delay in seconds. */
    public double oneWaySeconds() {
      return rtt.toNanos() / 2e9;
    }
  }

  public Topology {
    sites = List.copyOf(sites);
    links = List.copyOf(links);
    if (sites.isEmpty() || sites.size() > SITES_MAX) {
      throw new IllegalArgumentException("a topology needs 1.." + SITES_MAX + " sites, got " + sites.size());
    }
    Map<Site, SiteInfo> seen = new LinkedHashMap<>();
    for (SiteInfo s : sites) {
      if (seen.put(s.site(), s) != null) {
        throw new IllegalArgumentException("site " + s.site() + " is listed twice");
      }
    }
    for (Link l : links) {
      if (l.a().isEmpty() || l.b().isEmpty() || !seen.containsKey(l.a().get()) || !seen.containsKey(l.b().get())) {
        throw new IllegalArgumentException("link " + l + " must name two sites of the topology");
      }
    }
  }

  /**
   * Reads a topology file's {@code topology} block: {@code sites { <name> { tier = edge|cloud,
   * cores = 2, load = 0.5, live = true } }}, {@code links = [ { a, b, rtt = 40ms, bandwidth = 10MB,
   * loss = 0 } ]} (bandwidth in bytes per second) and {@code default-link { rtt, bandwidth, loss }};
   * errors name the setting.
   */
  public static Topology fromConfig(com.typesafe.config.Config topology) {
    try {
      List<SiteInfo> sites = new ArrayList<>();
      com.typesafe.config.Config all = topology.getConfig("sites");
      for (String name : new java.util.TreeSet<>(all.root().keySet())) {
        com.typesafe.config.Config s = all.getConfig(name);
        sites.add(new SiteInfo(Site.of(name), Tier.parse(s.getString("tier")), s.getDouble("cores"),
            s.hasPath("load") ? s.getDouble("load") : 0, !s.hasPath("live") || s.getBoolean("live")));
      }
      List<Link> links = new ArrayList<>();
      if (topology.hasPath("links")) {
        for (com.typesafe.config.Config l : topology.getConfigList("links")) {
          links.add(new Link(Optional.of(Site.of(l.getString("a"))), Optional.of(Site.of(l.getString("b"))), l.getDuration("rtt"),
              l.getBytes("bandwidth"), l.hasPath("loss") ? l.getDouble("loss") : 0));
        }
      }
      com.typesafe.config.Config d = topology.getConfig("default-link");
      return new Topology(sites, links, new Link(Optional.empty(), Optional.empty(), d.getDuration("rtt"), d.getBytes("bandwidth"),
          d.hasPath("loss") ? d.getDouble("loss") : 0));
    } catch (com.typesafe.config.ConfigException e) {
      throw new IllegalArgumentException("invalid topology: " + e.getMessage(), e);
    }
  }

  public Map<Site, SiteInfo> byId() {
    Map<Site, SiteInfo> m = new LinkedHashMap<>();
    sites.forEach(s -> m.put(s.site(), s));
    return m;
  }

  /** The link between two sites (the same both ways), or the default. */
  public Link link(Site a, Site b) {
    for (Link l : links) {
      Site x = l.a().get();
      Site y = l.b().get();
      if ((x.equals(a) && y.equals(b)) || (x.equals(b) && y.equals(a))) {
        return l;
      }
    }
    return defaultLink;
  }

  /** The same topology with one link (both ways) replaced or added. */
  public Topology withLink(Link link) {
    List<Link> ls = new ArrayList<>();
    for (Link l : links) {
      boolean same = (l.a().equals(link.a()) && l.b().equals(link.b())) || (l.a().equals(link.b()) && l.b().equals(link.a()));
      if (!same) {
        ls.add(l);
      }
    }
    ls.add(link);
    return new Topology(sites, ls, defaultLink);
  }

  /** The same topology with one site replaced. */
  public Topology withSite(SiteInfo site) {
    return new Topology(sites.stream().map(s -> s.site().equals(site.site()) ? site : s).toList(), links, defaultLink);
  }
}
