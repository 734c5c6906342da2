package io.ferry.runtime;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.remote.RemoteActorRefProvider;
import org.apache.pekko.remote.RemoteTransport;
import org.apache.pekko.remote.artery.ArteryTransport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.CollectionConverters;
import scala.jdk.javaapi.FutureConverters;

/**
 * A bounded stop of a member's Artery transport, run before its actor system terminates.
 *
 * <p>Why: when a system terminates, Pekko's remoting terminator waits, without a time limit, for
 * the transport's shutdown, which waits for every inbound and outbound Artery stream to complete.
 * Over {@code tls-tcp}, a stream whose TLS handshake with a peer failed (a rogue member holding
 * another CA's certificate) may never complete, and the system then never finishes terminating
 * (akka/akka-core#29162 reports the same). The transport's shutdown runs only once: the first call
 * does the work and later calls answer at once. So a member calls it here first, waits at most
 * {@code bound}, and on time-out logs which peers' streams were still open and lets termination go
 * on: the terminator's own call then returns at once, and the stuck streams' stages stop with the
 * system's actors.
 */
final class ArteryStop {

  private static final Logger log = LoggerFactory.getLogger(ArteryStop.class);

  private ArteryStop() {}

  /**
   * Starts the transport's shutdown and completes when it has completed or {@code bound} has
   * passed, whichever is first; never fails. Without remoting (a local actor system) it is done.
   */
  static CompletionStage<Done> stop(ActorSystem system, Duration bound, String member) {
    if (!(((ExtendedActorSystem) system).provider() instanceof RemoteActorRefProvider remote)) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    RemoteTransport transport = remote.transport();
    CompletableFuture<Done> bounded = new CompletableFuture<>();
    // the system's own scheduler, not CompletableFuture.delayedExecutor: that starts a JVM-wide
    // thread which outlives the member (an embedder's failed start must leave no thread behind)
    Cancellable timeout = system.scheduler().scheduleOnce(bound, () -> {
      if (bounded.complete(Done.getInstance())) {
        log.warn(
            "member {}: Artery's streams to {} had not completed {} after its transport began to stop (seen after failed TLS"
                + " handshakes, akka/akka-core#29162); terminating without waiting for them",
            member, openPeers(transport), bound);
      }
    }, system.dispatcher());
    FutureConverters.asJava(transport.shutdown()).whenComplete((d, e) -> {
      timeout.cancel();
      bounded.complete(Done.getInstance());
    });
    return bounded;
  }

  /** The peers whose outbound streams have not completed, or "some peers" when the transport cannot say. */
  private static String openPeers(RemoteTransport transport) {
    if (!(transport instanceof ArteryTransport artery)) {
      return "some peers";
    }
    List<String> open = new ArrayList<>();
    for (Address a : CollectionConverters.asJava(artery.remoteAddresses())) {
      if (!artery.association(a).streamsCompleted().isCompleted()) {
        open.add(a.toString());
      }
    }
    return open.isEmpty() ? "no peer (an inbound stream)" : open.toString();
  }
}
