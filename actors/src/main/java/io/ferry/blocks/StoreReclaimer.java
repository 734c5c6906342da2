package io.ferry.blocks;

import com.typesafe.config.Config;
import io.ferry.persistence.blocks.BlockStore;
import io.ferry.persistence.blocks.Reclaimed;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the member's block store reclaim ({@link BlockStore#reclaim}) now and then: blocks that local
 * writes replaced, and those of deleted volumes, are collected and the store compacted while it
 * serves. One run at a time; a run that fails is logged and the next one tries again.
 */
public final class StoreReclaimer implements Runnable {

  private static final Logger log = LoggerFactory.getLogger(StoreReclaimer.class);

  /**
   * @param interval time between runs (0 = never)
   * @param garbageRatioMin a sealed segment (or the index log) is rewritten once at least this share
   *     of it is garbage
   */
  public record Settings(Duration interval, double garbageRatioMin) {
    public Settings {
      if (interval.isNegative()) {
        throw new IllegalArgumentException("ferry.blocks.reclaim.interval must not be negative, got " + interval);
      }
      if (!(garbageRatioMin > 0 && garbageRatioMin <= 1)) {
        throw new IllegalArgumentException("ferry.blocks.reclaim.garbage-ratio-min must be in (0, 1], got " + garbageRatioMin);
      }
    }

    /** Reads {@code ferry.blocks.reclaim}. */
    public static Settings from(Config config) {
      Config c = config.getConfig("ferry.blocks.reclaim");
      return new Settings(c.getDuration("interval"), c.getDouble("garbage-ratio-min"));
    }
  }

  private final BlockStore store;
  private final Settings settings;
  private final AtomicBoolean running = new AtomicBoolean();

  private StoreReclaimer(BlockStore store, Settings settings) {
    this.store = store;
    this.settings = settings;
  }

  public static StoreReclaimer create(BlockStore store, Settings settings) {
    return new StoreReclaimer(store, settings);
  }

  /**
   * Schedules runs on {@code timer}, each executed on {@code worker} (a compaction may take seconds;
   * the timer's thread also delays control messages and must not wait for it).
   */
  public void schedule(ScheduledExecutorService timer, Executor worker) {
    long ms = settings.interval().toMillis();
    if (ms > 0) {
      timer.scheduleWithFixedDelay(() -> worker.execute(this), ms, ms, TimeUnit.MILLISECONDS);
    }
  }

  /** One reclaim, unless one is already running. */
  @Override
  public void run() {
    if (!running.compareAndSet(false, true)) {
      return;
    }
    try {
      Reclaimed r = store.reclaim(settings.garbageRatioMin());
      if (r.blocksRemoved() > 0 || r.indexBytesFreed() > 0) {
        log.info("block store reclaimed {} blocks, {} data bytes, {} index bytes ({} segments rewritten)",
            r.blocksRemoved(), r.dataBytesFreed(), r.indexBytesFreed(), r.segmentsRewritten());
      }
    } catch (IOException | RuntimeException e) {
      log.warn("block store reclaim failed; the next run tries again: {}", e.toString());
    } finally {
      running.set(false);
    }
  }
}
