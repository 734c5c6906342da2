package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.blocks.plan.BackgroundPlan;
import io.ferry.persistence.blocks.BlockStore;
import io.ferry.persistence.blocks.BlockStoreSettings;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import io.ferry.transport.aeron.BlockStream;
import io.ferry.transport.frame.BlockFrameDecoder;
import io.ferry.transport.frame.BlockFrameEncoder;
import io.ferry.transport.frame.DecodeResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The process executed over the real target side ({@link FrontendVolume} on a {@link BlockStore})
 * and the backend's real {@link BackgroundPlan}, with the frontend's member crashing in each phase
 * (its store closed and opened again, the process recovered from its journal alone): the copy ends
 * byte-identical, and no block present at the target before a crash is ever sent again.
 */
@ExtendWith(SeedExtension.class)
class VolumeMigrationResumeTest {

  private static final int BS = 4096;
  private static final int BLOCKS = 48;
  private static final VolumeId VOLUME = new VolumeId("v");
  private static final VolumeSpec SPEC = new VolumeSpec(VOLUME, "edge-a", "/images/v.img", "cloud", BS, "");

  @TempDir Path dir;
  private final byte[] source = new byte[BS * BLOCKS];
  private final int[] sent = new int[BLOCKS];
  private final BlockSettings settings = BlockSettings.from(ConfigFactory.load());
  private final List<VolumeMigration.Event> journal = new ArrayList<>();
  private BlockStore store;
  private long now;
  private long nextAttachId = 1;

  // The backend's side of the current attachment.
  private BackgroundPlan plan;
  private long servedAttachId;

  // The frontend's incarnation.
  private VolumeMigration process;
  private VolumeMigration.Phase phase;
  private FrontendVolume volume;

  @AfterEach
  void tearDown() {
    store.close();
  }

  private void fillSource(long seed) {
    Random r = new Random(seed);
    for (int b = 0; b < BLOCKS; b++) {
      if (b % 5 != 4) { // every fifth block stays zero
        byte[] block = new byte[BS];
        r.nextBytes(block);
        System.arraycopy(block, 0, source, b * BS, BS);
      }
    }
  }

  /** The member (re)starts: its store opens from disk, the frontend recovers from the journal. */
  private void startMember() throws IOException {
    if (store != null) {
      store.close();
    }
    store = BlockStore.open(dir.resolve("store"), BlockStoreSettings.defaults());
    volume = null;
    process = new VolumeMigration(Duration.ofSeconds(5), Duration.ofSeconds(1));
    phase = VolumeMigration.replay(journal);
    feed(new VolumeMigration.Recovered());
  }

  private VolumeMigration.Decision feed(VolumeMigration.Input input) throws IOException {
    VolumeMigration.Decision d = process.decide(phase, input);
    for (VolumeMigration.Event e : d.events()) {
      phase = VolumeMigration.apply(phase, e);
      journal.add(e);
    }
    for (VolumeMigration.Command c : d.commands()) {
      execute(c);
    }
    return d;
  }

  /** What BlockFrontend does with each command, with the backend answering in place. */
  private void execute(VolumeMigration.Command c) throws IOException {
    if (c instanceof VolumeMigration.Open) {
      volume = new FrontendVolume(VOLUME, store, settings, Runnable::run, () -> now, () -> {});
    } else if (c instanceof VolumeMigration.Export e) {
      volume.geometry(e.sizeBytes(), e.blockSizeBytes());
    } else if (c instanceof VolumeMigration.Attach a) {
      BitSet present = volume.hasGeometry() ? volume.present() : new BitSet();
      plan = new BackgroundPlan(BLOCKS, 4);
      for (int b = present.nextSetBit(0); b >= 0; b = present.nextSetBit(b + 1)) {
        plan.markPresent(b);
      }
      servedAttachId = a.attachId();
      if (volume.hasGeometry()) {
        volume.attach(link(), a.attachId());
      }
      feed(new VolumeMigration.AttachAcknowledged(a.attachId(), source.length, BS));
    } else if (c instanceof VolumeMigration.Confirm f) {
      if (volume.attachId() != f.attachId()) {
        volume.attach(link(), f.attachId());
      }
    } else if (c instanceof VolumeMigration.TellBackendComplete) {
      plan = null;
    } else if (c instanceof VolumeMigration.Release) {
      volume = null;
    }
  }

  private BackendLink link() {
    return new BackendLink() {
      @Override
      public void fetch(long attachId, long[] blocks, boolean noRef) {}

      @Override
      public void credit(long attachId, int blocks) {}
    };
  }

  /** The backend sends up to {@code n} background blocks in its plan's order; true when some went. */
  private boolean sendBackground(int n) throws IOException {
    if (plan == null) {
      return false;
    }
    long[] next = new long[n];
    int got = plan.next(next, n);
    for (int i = 0; i < got; i++) {
      int b = (int) next[i];
      sent[b]++;
      plan.markPresent(b);
      volume.onFrame(BlockStream.BACKGROUND, frame(b));
    }
    boolean complete = volume.completed();
    if (complete && !(phase instanceof VolumeMigration.Copied)) {
      feed(new VolumeMigration.EveryBlockPresent());
    }
    return got > 0;
  }

  private BlockFrameDecoder frame(int b) {
    byte[] block = Arrays.copyOfRange(source, b * BS, (b + 1) * BS);
    BlockFrameEncoder enc = new BlockFrameEncoder(BS);
    UnsafeBuffer out = new UnsafeBuffer(ByteBuffer.allocate(BlockFrameEncoder.maxFrameLength(BS)));
    int n = enc.encode(1, VOLUME.key(), servedAttachId, b, block, BS, FrontendVolume.sha256(block, BS), false, out, 0);
    BlockFrameDecoder dec = new BlockFrameDecoder(BS);
    assertEquals(DecodeResult.OK, dec.decode(out, 0, n));
    return dec;
  }

  private void backendKnown(String backend) throws IOException {
    feed(new VolumeMigration.BackendKnown(backend, source.length, nextAttachId++, now));
  }

  private void assertByteIdentical() throws Exception {
    assertArrayEquals(source, volume.read(0, source.length).toCompletableFuture().get());
  }

  @Test
  void aCrashInEachPhaseSendsNoPresentBlockAgainAndEndsByteIdentical(Seed testSeed) throws Exception {
    long seed = testSeed.value();
    fillSource(seed);
    startMember();
    feed(new VolumeMigration.Start(SPEC));

    // Attaching: the member dies before the backend is even known.
    startMember();
    assertInstanceOf(VolumeMigration.Attaching.class, phase);
    backendKnown("b1");
    assertInstanceOf(VolumeMigration.Streaming.class, phase);

    // Streaming: a third arrives, progress is recorded, the member dies.
    sendBackground(BLOCKS / 3);
    now += 2_000_000_000L;
    feed(new VolumeMigration.Tick(now, volume.blocksPresent(), false, nextAttachId++));
    long before = volume.blocksPresent();
    assertEquals(BLOCKS / 3, before);
    startMember();
    assertEquals(new VolumeMigration.Streaming(SPEC, source.length, BS, before), phase, "resumes streaming at the recorded progress");
    assertTrue(volume.hasGeometry(), "exported from the recorded geometry before the backend answers");
    assertEquals(before, volume.blocksPresent(), "the store kept what arrived");
    backendKnown("b2");
    while (sendBackground(5)) {
      // until the plan runs dry
    }
    assertInstanceOf(VolumeMigration.Copied.class, phase);
    assertByteIdentical();

    // Copied: the member dies; its new attachment's bitmap (the same store) holds every block, so
    // the backend has nothing to send (told so, or its plan empty from the bitmap).
    startMember();
    assertInstanceOf(VolumeMigration.Copied.class, phase);
    backendKnown("b3");
    assertTrue(plan == null || plan.complete(), "the backend has nothing more to send");
    assertByteIdentical();

    for (int b = 0; b < BLOCKS; b++) {
      assertEquals(1, sent[b], "block " + b + " sent " + sent[b] + " times (seed " + seed + ")");
    }
    assertEquals(0, volume.status().duplicateBlocks());

    // Stopped: the member dies after the stop; nothing opens again.
    feed(new VolumeMigration.StopRequested());
    startMember();
    assertInstanceOf(VolumeMigration.Stopped.class, phase);
    assertEquals(null, volume, "a stopped volume is not served after a restart");
  }
}
