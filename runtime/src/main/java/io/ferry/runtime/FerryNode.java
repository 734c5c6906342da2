package io.ferry.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.ferry.api.Ferry;
import io.ferry.http.ManagementServer;
import io.ferry.persistence.CassandraJournal;
import io.ferry.persistence.H2Journal;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/**
 * One Ferry cluster member: an {@code ActorSystem} with the worker, tier and site roles, Artery
 * TCP, the split-brain resolver and the journal, with Ferry attached and (unless {@code
 * ferry.http.enabled} is off) its management endpoint listening. Used by the launcher, the
 * demo and the tests; people with their own {@code ActorSystem} use {@link Ferry#get} instead.
 */
public final class FerryNode implements AutoCloseable {

  private final MemberSettings settings;
  private final ActorSystem<Void> system;
  private final Ferry ferry;
  private final ManagementServer http;

  private FerryNode(MemberSettings settings, ActorSystem<Void> system, Ferry ferry, ManagementServer http) {
    this.settings = settings;
    this.system = system;
    this.ferry = ferry;
    this.http = http;
  }

  /** Boots a member from {@code config} (its {@code ferry.member} section says what it is). */
  public static FerryNode start(Config config) {
    Config withDefaults = config.withFallback(ConfigFactory.load());
    MemberSettings member = MemberSettings.from(withDefaults);
    ManagementServer.Settings httpSettings = ManagementServer.Settings.from(withDefaults, member);
    Config full = memberConfig(member, withDefaults).withFallback(withDefaults).resolve();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), MemberSettings.SYSTEM_NAME, full);
    try {
      if (full.getString("ferry.persistence.journal").equals("cassandra")) {
        // Before any node can persist: the keyspaces and tables, created by Ferry itself.
        CassandraJournal.ensureSchema(Adapter.toClassic(system), full.getDuration("ferry.persistence.cassandra.schema-timeout"));
      }
      if (member.seedNodes().isEmpty()) {
        Cluster.get(system).manager().tell(Join.create(Cluster.get(system).selfMember().address()));
      }
      Ferry ferry = Ferry.get(system);
      ManagementServer http = httpSettings.enabled() ? ManagementServer.start(system, ferry, member, httpSettings) : null;
      return new FerryNode(member, system, ferry, http);
    } catch (RuntimeException e) {
      system.terminate();
      throw e;
    }
  }

  /** The Pekko settings a member's own settings imply: roles, address, seeds and journal. */
  static Config memberConfig(MemberSettings member, Config config) {
    Config c =
        ConfigFactory.empty()
            .withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(member.roles()))
            .withValue("pekko.remote.artery.canonical.hostname", ConfigValueFactory.fromAnyRef(member.host()))
            .withValue("pekko.remote.artery.canonical.port", ConfigValueFactory.fromAnyRef(member.port()))
            .withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(member.seedNodes()));
    String journal = config.getString("ferry.persistence.journal");
    if (journal.equals("cassandra")) {
      return c.withFallback(CassandraJournal.config(config));
    }
    if (!journal.equals("h2")) {
      throw new IllegalArgumentException("ferry.persistence.journal must be h2 or cassandra, got '" + journal + "'");
    }
    String url = H2Journal.url(config, member.dataDir());
    H2Journal.ensureDirectory(url);
    H2Journal.ensureSchema(url);
    return c.withFallback(H2Journal.config(url, config.getInt("ferry.persistence.h2.max-connections")));
  }

  public MemberSettings settings() {
    return settings;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public Ferry ferry() {
    return ferry;
  }

  /** The port the management endpoint listens on; empty when {@code ferry.http.enabled} is off. */
  public OptionalInt httpPort() {
    return http == null ? OptionalInt.empty() : OptionalInt.of(http.port());
  }

  /** The management endpoint's base URL, such as {@code http://127.0.0.1:8558}; empty when it is off. */
  public Optional<String> httpUrl() {
    return http == null ? Optional.empty() : Optional.of(http.url());
  }

  public String address() {
    return Cluster.get(system).selfMember().address().toString();
  }

  /** Waits until this member is Up in the cluster. */
  public FerryNode awaitUp(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (Cluster.get(system).selfMember().status() != MemberStatus.up()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("member " + address() + " did not come up within " + timeout);
      }
      sleepQuietly(20);
    }
    return this;
  }

  /** Leaves the cluster gracefully (its nodes hand off first) and stops the system. */
  @Override
  public void close() {
    unbindHttp();
    CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason());
    awaitTermination();
  }

  /** Stops the system at once without leaving: to the others this member has crashed. */
  public void crash() {
    unbindHttp();
    system.terminate();
    awaitTermination();
  }

  private void unbindHttp() {
    if (http != null) {
      http.close();
    }
  }

  private void awaitTermination() {
    try {
      system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("member " + settings.site() + " did not stop within 60 s", e);
    }
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
