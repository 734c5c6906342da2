package io.ferry.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.ferry.api.Ferry;
import io.ferry.blocks.BlockResources;
import io.ferry.http.HttpSecurity;
import io.ferry.http.ManagementServer;
import io.ferry.persistence.CassandraJournal;
import io.ferry.persistence.H2Journal;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Ferry cluster member: an {@code ActorSystem} with the worker, tier and site roles, Artery
 * TCP, the split-brain resolver and the journal, with Ferry attached and (unless {@code
 * ferry.http.enabled} is off) its management endpoint listening. Used by the launcher, the
 * demo and the tests; people with their own {@code ActorSystem} use {@link Ferry#get} instead.
 */
public final class FerryNode implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(FerryNode.class);
  /** How long a stop (or the clean-up of a failed start) waits for the actor system to terminate. */
  private static final Duration STOP_WAIT = Duration.ofSeconds(60);
  /** How long a failed start waits for the threads of its terminated system to end. */
  private static final Duration SYSTEM_THREADS_WAIT = Duration.ofSeconds(20);
  private static final String ARTERY_STOP_TIMEOUT = "ferry.security.artery.stop-timeout";
  /** Added to the Artery stop's bound for the coordinated-shutdown phase that runs it, so the bound is what ends it. */
  private static final Duration ARTERY_STOP_PHASE_MARGIN = Duration.ofSeconds(5);
  /**
   * Threads of a member that end only some time after its system has terminated: the system's own
   * (dispatchers, scheduler) and the Cassandra driver's netty event loops ("s0-io-1"), which the
   * session registry closes when the system terminates, after netty's quiet period.
   */
  private static final Pattern MEMBER_THREADS =
      Pattern.compile(Pattern.quote(MemberSettings.SYSTEM_NAME) + "-.*|s\\d+-(io|admin|timer)-\\d+");

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

  /**
   * Boots a member from {@code config} (its {@code ferry.member} section says what it is). A start
   * that fails releases what it took before the error reaches the caller: the actor system is
   * terminated and awaited, the journal's connections, the block store, the Aeron driver and its
   * directory, the NBD and management listeners and their threads are closed, so the caller may
   * retry on the same ports or delete the data directory at once.
   */
  public static FerryNode start(Config config) {
    Config withDefaults = FailoverNetwork.apply(config, ConfigFactory.load());
    MemberSettings member = MemberSettings.from(withDefaults);
    ManagementServer.Settings httpSettings = ManagementServer.Settings.from(withDefaults, member);
    HttpSecurity.Settings httpSecurity = HttpSecurity.Settings.from(withDefaults);
    MemberTls tls = MemberTls.from(withDefaults);
    Config full = memberConfig(member, withDefaults).withFallback(withDefaults).resolve();
    if (full.getString("ferry.persistence.journal").equals("cassandra")) {
      CassandraJournal.awaitReachable(full, full.getDuration("ferry.persistence.cassandra.schema-timeout"));
    }
    Set<Thread> before = Thread.getAllStackTraces().keySet();
    ActorSystem<Void> system = createSystem(member, full, before);
    Duration arteryStop = full.getDuration(ARTERY_STOP_TIMEOUT);
    try {
      // Before the system terminates, so that its termination cannot wait forever on Artery (ArteryStop).
      CoordinatedShutdown.get(system).addTask(
          CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "ferry-artery-stop",
          () -> ArteryStop.stop(Adapter.toClassic(system), arteryStop, member.site()));
      if (full.getString("ferry.persistence.journal").equals("cassandra")) {
        // Before any node can persist: the keyspaces and tables, created by Ferry itself.
        CassandraJournal.ensureSchema(Adapter.toClassic(system), full.getDuration("ferry.persistence.cassandra.schema-timeout"));
      }
      if (full.getBoolean("ferry.blocks.start-eagerly")) {
        // Here rather than in the block agent, which would only log it: a taken NBD or Aeron
        // port fails the member's start, naming the setting.
        BlockResources.get(system);
      }
      if (member.seedNodes().isEmpty()) {
        Cluster.get(system).manager().tell(Join.create(Cluster.get(system).selfMember().address()));
      }
      LifecycleLog.attach(system);
      CrashProbe.start(system, full);
      Ferry ferry = Ferry.get(system);
      ManagementServer http =
          httpSettings.enabled() ? ManagementServer.start(system, ferry, member, httpSettings, new HttpSecurity(httpSecurity)) : null;
      warnIfInsecure(Cluster.get(system).selfMember().address().toString(), member, tls, httpSettings.enabled(), httpSecurity, full.getBoolean("ferry.security.allow-insecure"));
      return new FerryNode(member, system, ferry, http);
    } catch (RuntimeException | Error e) {
      try {
        terminateWithoutLeaving(system, arteryStop, member.site());
        awaitTermination(system, member);
        // A terminated system has told its dispatchers to stop; their threads end a moment later.
        awaitThreadsOfSystem(before);
      } catch (RuntimeException stopFailed) {
        if (stopFailed != e) {
          e.addSuppressed(stopFailed);
        }
      }
      throw e;
    }
  }

  /**
   * Creates the member's actor system. A taken Artery port is found before the system exists: when
   * Artery fails to bind, Pekko terminates the half-started system without a handle to await, and
   * its threads would outlive the error.
   */
  private static ActorSystem<Void> createSystem(MemberSettings member, Config full, Set<Thread> before) {
    // Where Artery will bind: its bind section, which defaults to the canonical address (the member's).
    String bindHost = full.getString("pekko.remote.artery.bind.hostname");
    String bindPort = full.getString("pekko.remote.artery.bind.port");
    String host = bindHost.isEmpty() ? member.host() : bindHost;
    int port = bindPort.isEmpty() ? member.port() : Integer.parseInt(bindPort);
    if (port != 0 && full.getString("pekko.remote.artery.transport").endsWith("tcp")) {
      try (ServerSocket probe = new ServerSocket()) {
        probe.bind(new InetSocketAddress(host, port));
      } catch (IOException e) {
        throw new IllegalStateException(
            "ferry.member.port = " + member.port() + " cannot be bound on " + host + ":" + port + " (" + e.getMessage() + "): another process listens there? 0 picks one", e);
      }
    }
    try {
      return ActorSystem.create(Behaviors.empty(), MemberSettings.SYSTEM_NAME, full);
    } catch (RuntimeException | Error e) {
      awaitThreadsOfSystem(before);
      throw e;
    }
  }

  /**
   * Waits (bounded) until the {@link #MEMBER_THREADS} started since {@code before} have ended: a
   * terminated system only tells them to stop. Other members of this JVM have threads of the same
   * names, so one of theirs started meanwhile may keep the wait to its bound; it then logs. Also
   * used by {@link LocalCluster} when its start fails and it has stopped the members it started.
   */
  static void awaitThreadsOfSystem(Set<Thread> before) {
    long deadline = System.nanoTime() + SYSTEM_THREADS_WAIT.toNanos();
    while (true) {
      List<Thread> left =
          Thread.getAllStackTraces().keySet().stream()
              .filter(t -> !before.contains(t) && t.isAlive() && MEMBER_THREADS.matcher(t.getName()).matches())
              .toList();
      if (left.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        log.warn("threads of stopped actor systems still run after {}: {}", SYSTEM_THREADS_WAIT, left);
        return;
      }
      sleepQuietly(20);
    }
  }

  /** The Pekko settings a member's own settings imply: roles, address, seeds and journal. */
  /**
   * One line per member that says what of its traffic is unprotected, at WARN unless {@code
   * ferry.security.allow-insecure} says a one-machine setup (the demo, tests) knows.
   */
  private static void warnIfInsecure(String address, MemberSettings member, MemberTls tls, boolean http, HttpSecurity.Settings httpSecurity, boolean allowed) {
    List<String> open = new ArrayList<>();
    if (!tls.enabled()) {
      open.add("members talk in the clear (ferry.security.artery.enabled = off)");
    }
    if (http && !httpSecurity.auth()) {
      open.add("the management endpoint needs no token (ferry.security.http.auth = off)");
    }
    if (http && !httpSecurity.https()) {
      open.add("the management endpoint is plain HTTP (ferry.security.http.keystore empty)");
    }
    if (open.isEmpty()) {
      return;
    }
    String line = "INSECURE member {} site={}: {}; see docs/security.md";
    if (allowed) {
      log.info(line, address, member.site(), String.join("; ", open));
    } else {
      log.warn(line, address, member.site(), String.join("; ", open));
    }
  }

  static Config memberConfig(MemberSettings member, Config config) {
    Config c =
        MemberTls.from(config).arteryConfig()
            .withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(member.roles()))
            .withValue("pekko.remote.artery.canonical.hostname", ConfigValueFactory.fromAnyRef(member.host()))
            .withValue("pekko.remote.artery.canonical.port", ConfigValueFactory.fromAnyRef(member.port()))
            .withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(member.seedNodes()))
            .withValue(
                "pekko.coordinated-shutdown.phases.before-actor-system-terminate.timeout",
                ConfigValueFactory.fromAnyRef(config.getDuration(ARTERY_STOP_TIMEOUT).plus(ARTERY_STOP_PHASE_MARGIN).toMillis() + "ms"));
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
    return c.withFallback(
        H2Journal.config(url, config.getInt("ferry.persistence.h2.max-connections"), config.getInt("ferry.persistence.h2.write-parallelism")));
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
    awaitTermination(system, settings);
  }

  /** Stops the system at once without leaving: to the others this member has crashed. */
  public void crash() {
    unbindHttp();
    terminateWithoutLeaving(system, system.settings().config().getDuration(ARTERY_STOP_TIMEOUT), settings.site());
    awaitTermination(system, settings);
  }

  /**
   * Terminates without coordinated shutdown (no leave: a crash, or a start that failed), so the
   * bounded Artery stop that shutdown would run is run here first (ArteryStop).
   */
  private static void terminateWithoutLeaving(ActorSystem<?> system, Duration arteryStop, String site) {
    ArteryStop.stop(Adapter.toClassic(system), arteryStop, site).toCompletableFuture().join();
    system.terminate();
  }

  private void unbindHttp() {
    if (http != null) {
      http.close();
    }
  }

  /** Returns when the system has terminated and the block resources it started are closed. */
  private static void awaitTermination(ActorSystem<?> system, MemberSettings member) {
    try {
      system.getWhenTerminated().toCompletableFuture().get(STOP_WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while member " + member.site() + " stopped", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("member " + member.site() + " did not stop within " + STOP_WAIT, e);
    }
    BlockResources.closeIfStarted(system);
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
