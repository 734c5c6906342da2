package io.ferry.blocks;

import com.typesafe.config.Config;
import io.ferry.persistence.blocks.BlockStore;
import io.ferry.persistence.blocks.BlockStoreSettings;
import io.ferry.placement.MemberRoles;
import io.ferry.placement.Site;
import io.ferry.transport.aeron.BlockReceiver;
import io.ferry.transport.aeron.BlockSender;
import io.ferry.transport.aeron.BlockStream;
import io.ferry.transport.aeron.BlockTransport;
import io.ferry.metrics.FerryMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.ferry.transport.aeron.FrameHandler;
import io.ferry.transport.aeron.TransportSettings;
import io.ferry.transport.frame.BlockFrameDecoder;
import io.ferry.transport.frame.ChannelKeys;
import io.ferry.transport.frame.DecodeResult;
import io.ferry.transport.nbd.NbdExport;
import io.ferry.transport.nbd.NbdServer;
import io.ferry.transport.nbd.NbdServerSettings;
import io.ferry.transport.shaping.LinkEmulator;
import io.ferry.transport.shaping.LinkProfile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one member needs to take part in volume migrations, started on first use and closed when
 * the member stops: the Aeron block transport and its receiver (frames dispatched to the volume's
 * frontend by volume key), the target block store, the NBD server exporting every volume whose
 * frontend runs here, and WAN emulation of outbound block links when configured.
 */
public final class BlockResources implements Extension {

  private static final Logger log = LoggerFactory.getLogger(BlockResources.class);

  private static final long STORE_LOCK_WAIT_NANOS = 2_000_000_000L;
  private static final int STORE_SLOTS_MAX = 64;
  private static final long POOL_STOP_WAIT_SECONDS = 10;

  private final BlockSettings settings;
  private final String site;
  private final String host;
  private final BlockTransport transport;
  private final BlockReceiver receiver;
  private final BlockStore store;
  private final FileLock storeLock;
  private final NbdServer nbd;
  private final ExecutorService readPool;
  private final java.util.concurrent.ScheduledExecutorService controlTimer;
  private final ControlLink control;
  private final SourceHashIndex hotIndex = new SourceHashIndex(4_000_000);
  private final Map<Long, FrontendVolume> frontends = new ConcurrentHashMap<>();
  private final Map<String, FrontendVolume> exports = new ConcurrentHashMap<>();
  /**
   * Pre-copy exports, by name: a volume's source at the source member (its workload's, until the
   * cut-over) and, at the target member, the frontend under {@link #preCopySinkName} for the passes.
   */
  private final Map<String, NbdExport> preCopyExports = new ConcurrentHashMap<>();
  private final Map<String, LinkEmulator> emulators = new ConcurrentHashMap<>();
  private final Map<String, BlockSender> senders = new ConcurrentHashMap<>();
  private boolean closed;
  private final boolean encryptBlocks;
  private final double emulateCorruptRate;
  private final Path dataDir;
  private final Path storeDir;

  private BlockResources(ActorSystem<?> system) {
    Config config = system.settings().config();
    this.settings = BlockSettings.from(config);
    this.encryptBlocks = encryptBlocks(config);
    this.emulateCorruptRate = config.hasPath("ferry.blocks.emulate.corrupt") ? config.getDouble("ferry.blocks.emulate.corrupt") : 0.0;
    // The site role names the site (an embedding application sets roles, not ferry.member).
    this.site =
        MemberRoles.site(config.getStringList("pekko.cluster.roles"))
            .map(Site::name)
            .orElse(config.hasPath("ferry.member.site") ? config.getString("ferry.member.site") : "local");
    this.host = config.hasPath("ferry.member.host") ? config.getString("ferry.member.host") : "127.0.0.1";
    this.dataDir = Path.of(config.hasPath("ferry.member.data-dir") ? config.getString("ferry.member.data-dir") : "data").toAbsolutePath();
    // What is opened so far, closed in reverse when a later step fails: a member whose start
    // fails (a taken NBD or Aeron port) must not keep its store, driver or threads.
    Deque<AutoCloseable> opened = new ArrayDeque<>();
    try {
      // The store belongs to the site's first free slot: a member restarted with the same data
      // directory finds the blocks it already holds; two members of one site in one data
      // directory (tests, the demo) get a store each.
      Path siteDir = dataDir.resolve("blocks").resolve(site);
      Files.createDirectories(siteDir);
      // A member restarted right after a crash may find its slot still locked for a moment (the
      // crashed system closes its store as it terminates): wait for existing slots before
      // opening a new, empty one.
      FileLock lock = null;
      Path storeDir = null;
      long deadline = System.nanoTime() + STORE_LOCK_WAIT_NANOS;
      while (lock == null) {
        int slots = 0;
        while (Files.isDirectory(siteDir.resolve("slot-" + slots))) {
          slots++;
        }
        boolean waited = System.nanoTime() > deadline;
        for (int slot = 0; lock == null && slot < (waited ? slots + 1 : Math.max(1, slots)); slot++) {
          if (slot >= STORE_SLOTS_MAX) {
            throw new IOException("no free block store slot under " + siteDir + " (" + STORE_SLOTS_MAX + " members of one site share this data directory?)");
          }
          Path candidate = siteDir.resolve("slot-" + slot);
          Files.createDirectories(candidate);
          FileChannel ch = FileChannel.open(candidate.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          try {
            lock = ch.tryLock();
          } catch (java.nio.channels.OverlappingFileLockException e) {
            lock = null;
          }
          if (lock == null) {
            ch.close();
          } else {
            storeDir = candidate;
          }
        }
        if (lock == null) {
          sleep(50);
        }
      }
      this.storeLock = lock;
      this.storeDir = storeDir;
      opened.push(lock.channel());
      this.store = BlockStore.open(storeDir, BlockStoreSettings.defaults());
      opened.push(store);
      Path aeronDir = dataDir.resolve("aeron").resolve(site + "-" + UUID.randomUUID().toString().substring(0, 8));
      this.transport =
          BlockTransport.start(
              TransportSettings.forLink(aeronDir, settings.linkBandwidthBitsPerSecond(), settings.linkRtt(), settings.blockSizeMaxBytes()));
      opened.push(transport);
      this.receiver = transport.receive(host, settings.aeronPort(), new Dispatch(), new Keys());
      opened.push(receiver);
      MeterRegistry metrics = FerryMetrics.get(system).registry();
      BlockMetrics.member(metrics, receiver, senders, store);
      AtomicInteger n = new AtomicInteger();
      this.readPool =
          Executors.newFixedThreadPool(
              4,
              r -> {
                Thread t = new Thread(r, "ferry-block-io-" + site + "-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
              });
      opened.push(readPool::shutdownNow);
      this.controlTimer =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "ferry-block-control-" + site);
                t.setDaemon(true);
                return t;
              });
      opened.push(controlTimer::shutdownNow);
      this.control = new ControlLink(controlTimer, settings.emulateOneWayDelay());
      StoreReclaimer.create(store, StoreReclaimer.Settings.from(config)).schedule(controlTimer, readPool);
      NbdServerSettings d = NbdServerSettings.defaults();
      String nbdHost = settings.nbdHost().isEmpty() ? host : settings.nbdHost();
      try {
        this.nbd =
            NbdServer.start(
                new NbdServerSettings(
                    nbdHost,
                    settings.nbdPort(),
                    settings.nbdConnectionsMax(),
                    settings.nbdInFlightMax(),
                    settings.nbdRequestBytesMax(),
                    d.handshakeTimeout()),
                name -> Optional.ofNullable((NbdExport) exports.get(name)).or(() -> Optional.ofNullable(preCopyExports.get(name))).map(e -> BlockMetrics.timedReads(metrics, e)),
                () -> {
                  List<String> names = new ArrayList<>(exports.keySet());
                  // A pre-copy sink is for the source's passes only: not offered to clients that list.
                  preCopyExports.keySet().stream().filter(e -> !isPreCopySink(e)).forEach(names::add);
                  return List.copyOf(names);
                });
      } catch (IOException e) {
        throw new IOException("ferry.blocks.nbd.port = " + settings.nbdPort() + " cannot be bound on " + nbdHost + " (" + e.getMessage() + "); 0 picks a free one", e);
      }
      log.info("block resources of site={}: store {} , block data on udp {}:{}, NBD on {}", site, storeDir, host, receiver.port(), nbd.address());
    } catch (IOException | RuntimeException | Error e) {
      closeAll(opened, e);
      if (e instanceof IOException io) {
        throw new UncheckedIOException("could not start the block resources of site " + site + ": " + io.getMessage(), io);
      }
      if (e instanceof Error error) {
        throw error;
      }
      throw (RuntimeException) e;
    }
    system.getWhenTerminated().thenRun(this::close);
  }

  public static BlockResources get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  private static final class Id extends ExtensionId<BlockResources> {
    static final Id INSTANCE = new Id();

    @Override
    public BlockResources createExtension(ActorSystem<?> system) {
      return new BlockResources(system);
    }
  }

  public BlockSettings settings() {
    return settings;
  }

  public BlockStore store() {
    return store;
  }

  /** Sends block control messages to the other site (delayed like the WAN when emulated). */
  ControlLink control() {
    return control;
  }

  public ExecutorService ioPool() {
    return readPool;
  }

  public SourceHashIndex hotIndex() {
    return hotIndex;
  }

  /**
   * Cuts (every datagram lost) or heals this member's emulated block links to the endpoints
   * {@code to} accepts ("host:port"): how the simulator partitions sites on the block path.
   * Links that are not emulated are not touched.
   */
  public void cutBlockLinks(java.util.function.Predicate<String> to, boolean cut) {
    emulators.forEach((endpoint, e) -> {
      if (to.test(endpoint)) {
        e.setProfile(cut ? e.profile().withLossRate(1.0) : e.profile().withLossRate(settings.emulateLossRate()));
      }
    });
  }

  /** "host:port" this member receives block data on. */
  public String dataEndpoint() {
    return host + ":" + receiver.port();
  }

  /** The site this member is at, from its site role. */
  public String site() {
    return site;
  }

  public String dataHost() {
    return host;
  }

  public int dataPort() {
    return receiver.port();
  }

  /** The NBD URL of a volume exported here, as qemu-img and nbdinfo take it. */
  public String nbdUrl(VolumeId volume) {
    return "nbd://" + nbd.address().getHostString() + ":" + nbd.port() + "/" + volume.value();
  }

  /** Frames for this volume go to {@code frontend}; it is exported over NBD once it has a geometry. */
  public void registerFrontend(VolumeId volume, FrontendVolume frontend) {
    FrontendVolume other = frontends.putIfAbsent(volume.key(), frontend);
    if (other != null && other != frontend) {
      throw new IllegalStateException("volume=" + volume + " shares its frame key with volume " + other.name() + " on this member; rename one");
    }
  }

  public void export(VolumeId volume, FrontendVolume frontend) {
    exports.put(volume.value(), frontend);
  }

  /** Serves {@code export} over NBD under {@code name} (pre-copy: the source's, or the target's sink). */
  public void exportPreCopy(String name, NbdExport export) {
    preCopyExports.put(name, export);
  }

  public void unexportPreCopy(String name, NbdExport export) {
    preCopyExports.remove(name, export);
  }

  /**
   * The name the target's frontend is exported under while a pre-copy volume's passes write into
   * it: not the volume's, so a workload never writes at both ends.
   */
  public static String preCopySinkName(VolumeId volume) {
    return volume.value() + PRE_COPY_SINK_SUFFIX;
  }

  private static final String PRE_COPY_SINK_SUFFIX = ".precopy-sink";

  /** Whether {@code exportName} is a pre-copy sink (left out of NBD LIST). */
  static boolean isPreCopySink(String exportName) {
    return exportName.endsWith(PRE_COPY_SINK_SUFFIX);
  }

  public String nbdHost() {
    return nbd.address().getHostString();
  }

  public int nbdPort() {
    return nbd.port();
  }

  public void unregisterFrontend(VolumeId volume, FrontendVolume frontend) {
    frontends.remove(volume.key(), frontend);
    exports.remove(volume.value(), frontend);
  }

  /**
   * The sender to a frontend member's block endpoint, shared by every volume this member sends
   * there (frames carry their volume), kept while the member runs: Aeron's connection setup costs a
   * round trip or more, which a migration's first byte should not pay when the link is up already.
   * Through an emulated WAN link (delay, bandwidth, loss) when {@code ferry.blocks.emulate} asks.
   */
  public BlockSender connect(String toHost, int toPort) {
    return senders.computeIfAbsent(toHost + ":" + toPort, k -> open(toHost, toPort));
  }

  private BlockSender open(String toHost, int toPort) {
    if (!settings.emulated() && emulateCorruptRate == 0) {
      return transport.connect(toHost, toPort);
    }
    LinkEmulator emulator =
        LinkEmulator.start(
            host,
            new InetSocketAddress(toHost, toPort),
            new LinkProfile(
                settings.emulateOneWayDelay(),
                settings.emulateBandwidthBitsPerSecond(),
                settings.emulateLossRate(),
                // Deep enough that the emulator never tail-drops: what bounds the queue in front
                // of on-demand replies is the backend's background credit, as on a real link.
                Math.max(8L << 20, 4 * TransportSettings.bdpBytes(Math.max(1, settings.emulateBandwidthBitsPerSecond()), settings.emulateOneWayDelay().multipliedBy(2))),
                toPort));
    if (emulateCorruptRate > 0) {
      emulator.corruptForward(emulateCorruptRate, toPort);
    }
    emulators.put(toHost + ":" + toPort, emulator);
    log.info("block link to {}:{} emulated: delay {} each way, {} bit/s, loss {}, corrupt {}", toHost, toPort, settings.emulateOneWayDelay(), settings.emulateBandwidthBitsPerSecond(), settings.emulateLossRate(), emulateCorruptRate);
    return transport.connect(host, emulator.port());
  }

  /**
   * The at-rest key of a volume this member's site is the source of: made on first use and kept in
   * {@code <data-dir>/keys/<site>/<volume>.key}, at the source site only (not in the journal, which
   * a cluster may replicate to every site).
   */
  public byte[] restKey(VolumeId volume) throws IOException {
    Path file = dataDir.resolve("keys").resolve(site).resolve(volume.value() + ".key");
    synchronized (this) {
      if (!Files.exists(file)) {
        Files.createDirectories(file.getParent());
        byte[] key = new byte[AtRestCipher.KEY_LENGTH];
        new java.security.SecureRandom().nextBytes(key);
        Path tmp = Files.createTempFile(file.getParent(), volume.value(), ".tmp");
        try {
          Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
          log.warn("site={} cannot restrict permissions of {}: not a POSIX file system", site, tmp);
        }
        Files.write(tmp, key);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      }
      byte[] key = Files.readAllBytes(file);
      if (key.length != AtRestCipher.KEY_LENGTH) {
        throw new IOException("at-rest key " + file + " holds " + key.length + " bytes, not " + AtRestCipher.KEY_LENGTH + ": damaged");
      }
      return key;
    }
  }

  /** Notes next to the store that it holds this volume encrypted, so a restarted frontend knows before any key arrives. */
  public void markAtRest(VolumeId volume) throws IOException {
    Path marker = storeDir.resolve("at-rest").resolve(volume.value());
    if (!Files.exists(marker)) {
      Files.createDirectories(marker.getParent());
      Files.createFile(marker);
    }
  }

  /** Where the frontend of {@code volume} logs the writes its source lacks (next to the store it belongs to). */
  public Path changesLog(VolumeId volume) throws IOException {
    Path dir = storeDir.resolve("changes");
    Files.createDirectories(dir);
    return dir.resolve(volume.value() + ".log");
  }

  public boolean atRestMarked(VolumeId volume) {
    return Files.exists(storeDir.resolve("at-rest").resolve(volume.value()));
  }

  /** The frontends' attachment keys, for the receiver to open sealed frames with. */
  private final class Keys implements ChannelKeys {
    @Override
    public OpenKey key(long volumeKey, long attachId) {
      FrontendVolume f = frontends.get(volumeKey);
      return f == null ? null : f.channelKey(attachId);
    }

    @Override
    public boolean sealedOnly(long volumeKey) {
      FrontendVolume f = frontends.get(volumeKey);
      return f != null && f.sealedOnly();
    }
  }

  /**
   * Whether frontends ask their backends to seal block frames ({@code ferry.security.blocks.encrypt}):
   * {@code on}, {@code off}, or {@code auto}, on exactly when members talk over TLS, since the key
   * crosses the cluster channel and is only as secret as that channel.
   */
  public boolean encryptBlocks() {
    return encryptBlocks;
  }

  static boolean encryptBlocks(Config config) {
    String mode = config.hasPath("ferry.security.blocks.encrypt") ? config.getString("ferry.security.blocks.encrypt") : "off";
    return switch (mode) {
      case "on" -> true;
      case "off" -> false;
      case "auto" -> config.hasPath("ferry.security.artery.enabled") && config.getBoolean("ferry.security.artery.enabled");
      default -> throw new IllegalArgumentException("ferry.security.blocks.encrypt must be auto, on or off, got '" + mode + "'");
    };
  }

  private final class Dispatch implements FrameHandler {
    @Override
    public void onFrame(BlockStream stream, BlockFrameDecoder frame) {
      FrontendVolume f = frontends.get(frame.volumeKey());
      if (f != null) {
        f.onFrame(stream, frame);
      }
    }

    @Override
    public void onCorrupt(BlockStream stream, DecodeResult result, BlockFrameDecoder partial) {
      FrontendVolume f = partial.headerReadable() ? frontends.get(partial.volumeKey()) : null;
      if (f != null) {
        f.onCorrupt(stream, result, partial);
      } else {
        log.warn("site={} corrupt block frame on {} ({}) for no known volume: dropped", site, stream, result);
      }
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for a block store slot", e);
    }
  }

  /**
   * Closes the block resources of {@code system} if they were started, and returns once they are
   * closed. Whoever stops a member calls it after the system has terminated, so the member's
   * ports, threads and files are released when its stop (or its failed start) returns, not some
   * time after (the termination callback below may still be running then).
   */
  public static void closeIfStarted(ActorSystem<?> system) {
    BlockResources started;
    try {
      if (!system.hasExtension(Id.INSTANCE)) {
        return;
      }
      started = get(system);
    } catch (RuntimeException failedToStart) {
      return; // Pekko keeps a failed extension's error; its constructor closed what it had opened
    }
    started.close();
  }

  private static void closeAll(Deque<AutoCloseable> opened, Throwable cause) {
    while (!opened.isEmpty()) {
      try {
        opened.pop().close();
      } catch (Exception e) {
        cause.addSuppressed(e);
      }
    }
  }

  private synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      nbd.close();
    } catch (RuntimeException e) {
      log.warn("closing the NBD server failed", e);
    }
    receiver.close();
    senders.values().forEach(BlockSender::close);
    emulators.values().forEach(LinkEmulator::close);
    transport.close();
    readPool.shutdownNow();
    controlTimer.shutdownNow();
    awaitStopped(readPool);
    awaitStopped(controlTimer);
    store.close();
    try {
      storeLock.release();
      storeLock.channel().close();
    } catch (IOException e) {
      log.warn("releasing the block store lock failed", e);
    }
  }

  /** Block reads under way finish before the store closes under them; bounded, they are disk reads. */
  private void awaitStopped(ExecutorService pool) {
    try {
      if (!pool.awaitTermination(POOL_STOP_WAIT_SECONDS, TimeUnit.SECONDS)) {
        log.warn("site={} block threads still running {} s after the stop", site, POOL_STOP_WAIT_SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
