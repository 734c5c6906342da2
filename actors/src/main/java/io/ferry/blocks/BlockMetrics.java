package io.ferry.blocks;

import io.ferry.persistence.blocks.BlockStore;
import io.ferry.transport.aeron.BlockReceiver;
import io.ferry.transport.aeron.BlockSender;
import io.ferry.transport.aeron.BlockStream;
import io.ferry.transport.frame.FrameKind;
import io.ferry.transport.nbd.ForwardingExport;
import io.ferry.transport.nbd.NbdExport;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The block path's meters: the counters the transport, the store, and each volume's frontend and
 * backend keep (exported as Micrometer function counters that read them, so the hot paths stay
 * as they are), and a timer of NBD reads that waited for an on-demand fetch. Names are listed in
 * docs/management-api.md.
 */
final class BlockMetrics {
  private BlockMetrics() {}

  static final String FETCH = "ferry.block.fetch";

  /** Meters registered for one volume's frontend or backend on this member; removed when it stops here. */
  record VolumeMeters(MeterRegistry registry, List<Meter> meters) {
    void close() {
      meters.forEach(registry::remove);
    }
  }

  /** Member-wide: frames and bytes received and sent per stream, corrupt frames, store dedup hits. */
  static void member(MeterRegistry registry, BlockReceiver receiver, Map<String, BlockSender> senders, BlockStore store) {
    for (BlockStream stream : BlockStream.values()) {
      String tag = label(stream);
      FunctionCounter.builder("ferry.block.received.frames", receiver, r -> r.framesReceived(stream))
          .description("Block frames received from backends").tag("stream", tag).register(registry);
      FunctionCounter.builder("ferry.block.received.bytes", receiver, r -> r.bytesReceived(stream))
          .description("Block frame bytes received from backends").baseUnit("bytes").tag("stream", tag).register(registry);
      FunctionCounter.builder("ferry.block.sent.bytes", senders, s -> s.values().stream().mapToLong(b -> b.bytesSent(stream)).sum())
          .description("Block frame bytes sent to frontends (senders are kept while the member runs)").baseUnit("bytes").tag("stream", tag).register(registry);
    }
    FunctionCounter.builder("ferry.block.corrupt.frames", receiver, BlockReceiver::corruptFrames)
        .description("Block frames received that failed their checks").register(registry);
    FunctionCounter.builder("ferry.block.rejected.frames", receiver, BlockReceiver::authFailedFrames)
        .description("Block frames refused because they did not authenticate (tampered, no key, or plain on a sealed channel)").tag("reason", "auth").register(registry);
    FunctionCounter.builder("ferry.block.rejected.frames", receiver, BlockReceiver::replayedFrames)
        .description("Block frames refused because they did not authenticate (tampered, no key, or plain on a sealed channel)").tag("reason", "replay").register(registry);
    FunctionCounter.builder("ferry.block.store.dedup.hits", store, s -> s.stats().dedupHits())
        .description("Blocks stored once for several (volume, block) positions because their hash was known").register(registry);
  }

  /** A frontend's counters, read from its status; {@code fetch} times reads that waited for the backend. */
  static VolumeMeters frontend(MeterRegistry registry, VolumeId volume, FrontendVolume core) {
    List<Meter> m = new ArrayList<>();
    String v = volume.value();
    m.add(counter(registry, "ferry.volume.frontend.fetched.blocks", "Blocks fetched on demand because a read needed them", v, core, c -> c.status().onDemandBlocksFetched()));
    m.add(counter(registry, "ferry.volume.frontend.frames", "Frames the frontend took in", v, core, c -> c.status().framesOnDemand(), "stream", "on-demand"));
    m.add(counter(registry, "ferry.volume.frontend.frames", "Frames the frontend took in", v, core, c -> c.status().framesBackground(), "stream", "background"));
    m.add(counter(registry, "ferry.volume.frontend.duplicate.blocks", "Blocks received again though present (dropped)", v, core, c -> c.status().duplicateBlocks()));
    m.add(counter(registry, "ferry.volume.frontend.ref.misses", "REF frames whose hash the store did not hold (fetched again as data)", v, core, c -> c.status().refMisses()));
    m.add(counter(registry, "ferry.volume.frontend.corrupt.frames", "Frames for this volume that failed their checks", v, core, c -> c.status().corruptFrames()));
    m.add(counter(registry, "ferry.volume.frontend.local.writes", "Workload writes applied at the target", v, core, c -> c.status().localWrites()));
    m.add(Gauge.builder("ferry.volume.frontend.present.blocks", core, c -> c.status().blocksPresent())
        .description("Blocks the target holds").baseUnit("blocks").tag("volume", v).register(registry));
    m.add(Gauge.builder("ferry.volume.frontend.reads.waiting", core, c -> c.status().readsWaiting())
        .description("Reads waiting for blocks to arrive").tag("volume", v).register(registry));
    m.add(fetchTimer(registry, v));
    return new VolumeMeters(registry, List.copyOf(m));
  }

  /** A backend's counters, read from its status: frames and bytes sent by kind, blocks scanned, on-demand fetches refused. */
  static VolumeMeters backend(MeterRegistry registry, VolumeId volume, BackendVolume engine) {
    List<Meter> m = new ArrayList<>();
    String v = volume.value();
    for (FrameKind kind : FrameKind.values()) {
      String k = kind.name();
      String tag = k.toLowerCase(Locale.ROOT);
      m.add(counter(registry, "ferry.volume.backend.sent.frames", "Frames sent, by kind (ZERO, REF, LZ4, RAW)", v, engine, e -> e.status().framesSent().getOrDefault(k, 0L), "kind", tag));
      m.add(FunctionCounter.builder("ferry.volume.backend.sent.bytes", engine, e -> e.status().bytesSent().getOrDefault(k, 0L))
          .description("Frame bytes sent, by kind").baseUnit("bytes").tag("volume", v).tag("kind", tag).register(registry));
    }
    m.add(counter(registry, "ferry.volume.backend.scanned.blocks", "Source blocks read and hashed by the background scan", v, engine, e -> e.status().blocksScanned()));
    m.add(counter(registry, "ferry.volume.backend.on.demand.refused", "On-demand fetches refused (block beyond the source, or no frontend attached)", v, engine, e -> e.status().onDemandRefused()));
    return new VolumeMeters(registry, List.copyOf(m));
  }

  private static <T> FunctionCounter counter(MeterRegistry registry, String name, String description, String volume, T obj, ToDoubleFunction<T> f, String... tags) {
    return FunctionCounter.builder(name, obj, f).description(description).tag("volume", volume).tags(tags).register(registry);
  }

  private static Timer fetchTimer(MeterRegistry registry, String volume) {
    return Timer.builder(FETCH)
        .description("NBD reads that waited for blocks fetched on demand from the backend: from the read to its data")
        .tag("volume", volume)
        .register(registry);
  }

  /**
   * {@code export} with its reads timed when they wait: a read whose blocks are all present
   * completes at once and is not a fetch; one that does not has asked the backend for blocks.
   */
  static NbdExport timedReads(MeterRegistry registry, NbdExport export) {
    Timer fetch = fetchTimer(registry, export.name());
    return new ForwardingExport(export) {
      @Override
      public CompletionStage<byte[]> read(long offset, int length) {
        long start = System.nanoTime();
        CompletionStage<byte[]> read = delegate.read(offset, length);
        if (read.toCompletableFuture().isDone()) {
          return read;
        }
        return read.whenComplete((data, failure) -> fetch.record(System.nanoTime() - start, TimeUnit.NANOSECONDS));
      }
    };
  }

  private static String label(BlockStream stream) {
    return stream == BlockStream.ON_DEMAND ? "on-demand" : "background";
  }
}
