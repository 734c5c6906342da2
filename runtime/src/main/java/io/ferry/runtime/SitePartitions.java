package io.ferry.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.blocks.BlockResources;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.remote.RemoteActorRefProvider;
import org.apache.pekko.remote.transport.ThrottlerTransportAdapter;

/**
 * Partitions a site from the rest of a {@link LocalCluster} and heals it, for the simulator and
 * tests: a small adapter over Artery's test mode (blackholes between the members of the site and
 * every other member, both directions, on both ends) and over the block links' WAN emulators
 * (every datagram lost). Members must run with {@link #testModeConfig()}; never in production.
 */
public final class SitePartitions {

  /** Scala's {@code Direction.Both}: its class is nested in the companion, out of javac's reach. */
  private static final ThrottlerTransportAdapter.Direction BOTH = scalaObject("org.apache.pekko.remote.transport.ThrottlerTransportAdapter$Direction$Both$");

  private SitePartitions() {}

  private static ThrottlerTransportAdapter.Direction scalaObject(String className) {
    try {
      return (ThrottlerTransportAdapter.Direction) Class.forName(className).getField("MODULE$").get(null);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("Pekko's Artery test transport is not on the classpath: " + className, e);
    }
  }

  /** What every member of a cluster that will be partitioned needs in its configuration. */
  public static Config testModeConfig() {
    return ConfigFactory.parseString("pekko.remote.artery.advanced.test-mode = on");
  }

  /** Cuts ({@code cut}) or heals every link between the live members of {@code site} and the others. */
  public static void set(LocalCluster cluster, String site, boolean cut) {
    List<FerryNode> live = cluster.live();
    Set<String> inside =
        live.stream().filter(n -> n.settings().site().equals(site)).map(n -> blockEndpoint(n)).collect(Collectors.toSet());
    for (FerryNode a : live) {
      boolean aInside = a.settings().site().equals(site);
      for (FerryNode b : live) {
        if (a == b || aInside == b.settings().site().equals(site)) {
          continue;
        }
        ThrottlerTransportAdapter.ThrottleMode mode =
            cut ? ThrottlerTransportAdapter.Blackhole$.MODULE$ : ThrottlerTransportAdapter.Unthrottled$.MODULE$;
        transport(a).managementCommand(
            new ThrottlerTransportAdapter.SetThrottle(Cluster.get(b.system()).selfMember().address(), BOTH, mode));
      }
      BlockResources blocks = BlockResources.get(a.system());
      blocks.cutBlockLinks(endpoint -> aInside != inside.contains(endpoint), cut);
    }
  }

  private static String blockEndpoint(FerryNode n) {
    return BlockResources.get(n.system()).dataEndpoint();
  }

  private static org.apache.pekko.remote.RemoteTransport transport(FerryNode n) {
    ExtendedActorSystem classic = (ExtendedActorSystem) Adapter.toClassic(n.system());
    RemoteActorRefProvider provider = (RemoteActorRefProvider) classic.provider();
    return provider.transport();
  }
}
