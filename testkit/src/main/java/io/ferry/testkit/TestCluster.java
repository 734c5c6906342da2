package io.ferry.testkit;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.Ferry;
import io.ferry.api.Placement;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import io.ferry.query.QueryGraph;
import io.ferry.runtime.FerryNode;
import io.ferry.runtime.LocalCluster;
import io.ferry.runtime.SitePartitions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A multi-site Ferry cluster in the test's JVM, for testing your own queries as they run for real:
 * every member is its own {@code ActorSystem} on loopback with its own management endpoint on a
 * free port, all sharing one H2 journal under the test's directory. Members can be crashed and
 * replaced ({@link #cluster()}), sites cut off and healed ({@link #partition}), queries deployed
 * and their sinks read while that happens ({@link #readSink}).
 *
 * <pre>{@code
 * try (TestCluster cluster = TestCluster.builder(tempDir).site("cloud", Tier.CLOUD).site("edge-a", Tier.EDGE).start()) {
 *   Deployment d = cluster.deploy(graph, placement);
 *   try (SinkReader out = cluster.readSink(d, "out")) {
 *     out.awaitDone(Duration.ofMinutes(1));
 *     out.assertOnceOnly(ReferenceRun.run(graph, 1_000_000).get(new NodeId("out")));
 *   }
 * }
 * }</pre>
 *
 * Nothing here is for production: a real deployment runs one member per process ({@code ferry node}).
 */
public final class TestCluster implements AutoCloseable {

  /** How long a deploy through the API may take before the test fails. */
  private static final Duration DEPLOY_TIMEOUT = Duration.ofSeconds(30);

  private final LocalCluster cluster;
  private final boolean partitionable;

  private TestCluster(LocalCluster cluster, boolean partitionable) {
    this.cluster = cluster;
    this.partitionable = partitionable;
  }

  /** A cluster whose members keep their journal and block stores under {@code dataDir} (a JUnit {@code @TempDir}). */
  public static Builder builder(Path dataDir) {
    return new Builder(dataDir);
  }

  /** The demo's layout: a cloud site and two edge sites, edge-a and edge-b (what {@link SampleQuery#placement} places on). */
  public static TestCluster threeSites(Path dataDir) {
    return builder(dataDir).site("cloud", Tier.CLOUD).site("edge-a", Tier.EDGE).site("edge-b", Tier.EDGE).start();
  }

  /** Sites and settings of a cluster before it starts. */
  public static final class Builder {
    private final Path dataDir;
    private final Map<String, String> sites = new LinkedHashMap<>();
    private Config config = ConfigFactory.empty();
    private Duration startTimeout = Duration.ofSeconds(60);
    private boolean partitionable;

    private Builder(Path dataDir) {
      this.dataDir = dataDir;
    }

    /** One member at {@code site}; the first site's member is the seed node. Call once per member. */
    public Builder site(String site, Tier tier) {
      Site.of(site);
      if (sites.putIfAbsent(site, tier.label()) != null) {
        throw new IllegalArgumentException("site " + site + " given twice; start more members at a site with cluster().startMember");
      }
      return this;
    }

    /** Settings every member gets over its defaults, e.g. {@code ferry.persistence.journal = cassandra}. */
    public Builder config(Config overrides) {
      this.config = overrides.withFallback(config);
      return this;
    }

    /** How long all members may take to join; 60 s by default (a loaded CI machine is slow). */
    public Builder startTimeout(Duration timeout) {
      this.startTimeout = timeout;
      return this;
    }

    /** Runs the members in Artery's test mode so {@link TestCluster#partition} can cut sites off. */
    public Builder partitionable() {
      this.partitionable = true;
      return this;
    }

    /** Starts every member and waits until all are Up. */
    public TestCluster start() {
      if (sites.isEmpty()) {
        throw new IllegalStateException("a cluster needs at least one site");
      }
      Config c = partitionable ? config.withFallback(SitePartitions.testModeConfig()) : config;
      return new TestCluster(LocalCluster.start(dataDir, sites, c, startTimeout), partitionable);
    }
  }

  /** The members themselves: crash one ({@code memberAt(address).crash()}), start a replacement, wait for removal. */
  public LocalCluster cluster() {
    return cluster;
  }

  /** The embedding API through any live member. */
  public Ferry ferry() {
    return cluster.any().ferry();
  }

  /** The live member at {@code site}. */
  public FerryNode member(String site) {
    return cluster.member(site);
  }

  /** Deploys {@code graph} with {@code placement} and waits for the deployment. */
  public Deployment deploy(QueryGraph graph, Placement placement) throws InterruptedException, ExecutionException, TimeoutException {
    return ferry().deploy(graph, placement).toCompletableFuture().get(DEPLOY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Starts reading the in-cluster sink {@code sink} of a deployed query; close the reader when done. */
  public SinkReader readSink(Deployment deployment, String sink) {
    return SinkReader.start(cluster, deployment.query(), sink);
  }

  /** Cuts every link between {@code site}'s members and the rest, cluster and block links alike (needs {@link Builder#partitionable()}). */
  public void partition(String site) {
    partitions(site, true);
  }

  /** Heals what {@link #partition} cut. */
  public void heal(String site) {
    partitions(site, false);
  }

  private void partitions(String site, boolean cut) {
    if (!partitionable) {
      throw new IllegalStateException("start the cluster with builder(...).partitionable() to cut sites off");
    }
    SitePartitions.set(cluster, site, cut);
  }

  @Override
  public void close() {
    cluster.close();
  }
}
