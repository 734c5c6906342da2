package io.ferry.blocks.precopy;

import com.typesafe.config.Config;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a source member's backend holds of a pre-copy volume, on plain threads: the source's export
 * for the workload ({@link PreCopySource}, served by the member's NBD server) and, once the user asks
 * for the cut-over, the passes ({@link PreCopyMigration#startCopied}: the volume's background copy
 * filled the target) into the target frontend's sink export. The backend shell journals the phases
 * ({@link PreCopyLife}) and hands this its inputs; the results come back through a callback.
 */
public final class PreCopyHost implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PreCopyHost.class);

  /** {@code ferry.blocks.pre-copy}. */
  public record Settings(long thresholdBlocks, int maxPasses, int writerThreads, int connections, int runBlocksMax, Duration holdTimeout, Duration passesTimeout,
      long maxBytesPerSecond) {
    public Settings {
      if (maxBytesPerSecond < 0) {
        throw new IllegalArgumentException("ferry.blocks.pre-copy.max-bytes-per-second must be 0 (unpaced) or positive, got " + maxBytesPerSecond);
      }
      if (connections < 1 || connections > NbdBlockSink.CONNECTIONS_MAX) {
        throw new IllegalArgumentException("ferry.blocks.pre-copy.connections must be 1.." + NbdBlockSink.CONNECTIONS_MAX + ", got " + connections);
      }
      if (passesTimeout.isNegative() || passesTimeout.isZero()) {
        throw new IllegalArgumentException("ferry.blocks.pre-copy.passes-timeout must be positive, got " + passesTimeout);
      }
    }

    public static Settings from(Config c) {
      return new Settings(c.getLong("threshold-blocks"), c.getInt("max-passes"), c.getInt("writer-threads"), c.getInt("connections"),
          c.getInt("run-blocks-max"), c.getDuration("hold-timeout"), c.getDuration("passes-timeout"), c.getBytes("max-bytes-per-second"));
    }

    PreCopyMigration.Settings migration() {
      return new PreCopyMigration.Settings(new PreCopyConvergence.Settings(thresholdBlocks, maxPasses), runBlocksMax, connections, holdTimeout, false);
    }
  }

  /**
   * How the passes ended: cut over (the target is the primary) or not, with the figures; {@code
   * sinkLost}: they did not, and the target's sink could not be reached afterwards either (its
   * frontend went away), so a frontend that comes back may have them run again.
   */
  public record Outcome(boolean cutOver, boolean sinkLost, PreCopyMigration.Status status) {}

  /** How long the check that the target's sink is still there may take, after passes failed. */
  private static final Duration SINK_CHECK = Duration.ofSeconds(5);

  /** How often running passes look whether they were abandoned. */
  private static final Duration ABANDON_CHECK = Duration.ofMillis(100);

  private final PreCopySource source;
  private final Settings settings;
  // Guarded by `this`.
  private boolean busy;
  private PreCopyMigration running;
  private PreCopyMigration.Status last;
  /** The running passes are to stop: their sink belongs to a frontend that went away. */
  private boolean abandoned;

  private PreCopyHost(PreCopySource source, Settings settings) {
    this.source = source;
    this.settings = settings;
  }

  /**
   * Opens the source for its workload, tracking writes from now (before the background copy reads
   * a block) in memory and in the change log next to the image ({@link #changeLogPath}); {@code
   * restart}: this member served the source before, so the change set is read from that log (every
   * block marked when it cannot be read: {@link #changeLogRecovery} says why).
   */
  public static PreCopyHost open(String name, Path image, int blockSize, Settings settings, boolean restart) throws IOException {
    PreCopySource source = PreCopySource.logged(name, image, blockSize, settings.writerThreads(), changeLogPath(image), restart);
    return new PreCopyHost(source, settings);
  }

  /** Where the change set of the source at {@code image} is kept: next to it, as the image's own state. */
  public static Path changeLogPath(Path image) {
    return image.resolveSibling(image.getFileName() + ".ferry-dirty");
  }

  /** What opening the change log found. */
  public DirtyBlockLog.Recovery changeLogRecovery() {
    return source.changeLog().orElseThrow().recovery();
  }

  /** The workload's export at the source. */
  public PreCopySource source() {
    return source;
  }

  /** Whether passes are running now. */
  public synchronized boolean converging() {
    return busy;
  }

  /**
   * Runs the passes into the target's sink export at {@code host:port}, then cuts over; {@code
   * done} gets the outcome once (on a thread of its own). A request while passes run is a repeat
   * (false).
   */
  public synchronized boolean cutOver(String host, int port, String export, Consumer<Outcome> done) {
    if (busy) {
      return false;
    }
    busy = true;
    abandoned = false;
    Thread t = new Thread(() -> done.accept(runPasses(host, port, export)), "ferry-precopy-cutover-" + source.name());
    t.setDaemon(true);
    t.start();
    return true;
  }

  private Outcome runPasses(String host, int port, String export) {
    NbdBlockSink sink;
    try {
      sink = new NbdBlockSink(host, port, export, settings.connections(), Duration.ofSeconds(30));
    } catch (IOException | RuntimeException e) {
      log.warn("volume={} the target's sink {}:{}/{} cannot be reached: {}", source.name(), host, port, export, e.toString());
      return ended(failedStatus("the target's sink " + host + ":" + port + "/" + export + " cannot be reached: " + e.getMessage()), true);
    }
    BlockSink target = settings.maxBytesPerSecond() > 0 ? new PacedBlockSink(sink, settings.maxBytesPerSecond()) : sink;
    PreCopyMigration m;
    try {
      m = PreCopyMigration.startCopied(source, target, settings.migration());
    } catch (RuntimeException e) {
      // ended either way: a later cut-over may try again, and the sink's connections close
      sink.close();
      log.warn("volume={} the passes cannot start: {}", source.name(), e.toString());
      return ended(failedStatus("the passes cannot start: " + e.getMessage()), false);
    }
    synchronized (this) {
      running = m;
    }
    m.requestCutOver();
    try {
      // In slices, so passes abandoned meanwhile stop here, on their own thread.
      long deadline = System.nanoTime() + settings.passesTimeout().toNanos();
      boolean ended = false;
      while (!ended && !abandoned() && System.nanoTime() < deadline) {
        ended = m.awaitEnd(ABANDON_CHECK);
      }
      if (!ended) {
        m.close(); // its failure path releases held writes; the marks of runs under way are restored
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      m.close();
    }
    PreCopyMigration.Status st = m.status();
    m.close();
    sink.close();
    boolean cutOver = st.phase() == PreCopyMigration.Phase.CUT_OVER;
    return ended(st, !cutOver && (abandoned() || !reachable(host, port, export)));
  }

  /** Whether the target's sink takes a connection now (it does not once its frontend went away). */
  private boolean reachable(String host, int port, String export) {
    try (NbdBlockSink probe = new NbdBlockSink(host, port, export, 1, SINK_CHECK)) {
      return true;
    } catch (IOException | RuntimeException e) {
      log.info("volume={} the target's sink {}:{}/{} is gone after the passes failed: {}", source.name(), host, port, export, e.toString());
      return false;
    }
  }

  private Outcome ended(PreCopyMigration.Status st, boolean sinkLost) {
    synchronized (this) {
      running = null;
      last = st;
    }
    return new Outcome(st.phase() == PreCopyMigration.Phase.CUT_OVER, sinkLost, st);
  }

  /**
   * The caller has taken the outcome {@code done} got: from now on a request starts new passes.
   * Until then the passes count as running, so a request that comes between their end and the
   * handling of their outcome is a repeat, and a late outcome is never taken for newer passes'.
   */
  public synchronized void endHandled() {
    busy = false;
  }

  /**
   * Stops the running passes (their sink belongs to a frontend that went away) within {@link
   * #ABANDON_CHECK}: they end as failed with the sink lost, unless they cut over first; their
   * callback reports it either way. Nothing if none run.
   */
  public synchronized void abandonPasses() {
    abandoned = busy;
  }

  private synchronized boolean abandoned() {
    return abandoned;
  }

  private PreCopyMigration.Status failedStatus(String why) {
    return new PreCopyMigration.Status(PreCopyMigration.Phase.FAILED, PreCopyConvergence.Mode.PRE_COPY, "", java.util.List.of(), source.dirty().count(), -1, 0, 0,
        source.writesAcknowledged(), source.writesMirrored(), source.writesRefused(), why);
  }

  /** The running passes' figures, else the last passes', else the workload's figures so far. */
  public synchronized PreCopyMigration.Status status() {
    if (running != null) {
      return running.status();
    }
    if (last != null) {
      return last;
    }
    return new PreCopyMigration.Status(PreCopyMigration.Phase.COPIED, PreCopyConvergence.Mode.PRE_COPY, "", java.util.List.of(), source.dirty().count(), -1, 0, 0,
        source.writesAcknowledged(), source.writesMirrored(), source.writesRefused(), "");
  }

  @Override
  public void close() {
    PreCopyMigration m;
    synchronized (this) {
      m = running;
    }
    if (m != null) {
      m.close();
    }
    source.close();
  }
}
