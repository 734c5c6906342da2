package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.persistence.blocks.BlockStore;
import io.ferry.persistence.blocks.BlockStoreSettings;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import io.ferry.transport.aeron.BlockStream;
import io.ferry.transport.frame.BlockFrameDecoder;
import io.ferry.transport.frame.BlockFrameEncoder;
import io.ferry.transport.frame.DecodeResult;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The target side of a volume without actors or Aeron: reads wait for on-demand fetches and return
 * the source's bytes, writes win over late source blocks, unresolvable REFs and corrupt frames are
 * fetched again and never stored, duplicates are counted, completion is reported once.
 */
@ExtendWith(SeedExtension.class)
class FrontendVolumeTest {

  private static final int BS = 4096;
  private static final int BLOCKS = 32;

  @TempDir Path dir;
  private BlockStore store;
  private final byte[] source = new byte[BS * BLOCKS];
  private final List<long[]> fetches = new ArrayList<>();
  private final AtomicLong clock = new AtomicLong();
  private final AtomicBoolean complete = new AtomicBoolean();
  private FrontendVolume volume;
  private final BlockSettings settings = BlockSettings.from(ConfigFactory.load());

  @BeforeEach
  void setUp(Seed testSeed) throws Exception {
    long seed = testSeed.value();
    Random r = new Random(seed);
    for (int b = 0; b < BLOCKS; b++) {
      if (b % 4 != 3) { // every fourth block stays zero
        byte[] block = new byte[BS];
        r.nextBytes(block);
        System.arraycopy(block, 0, source, b * BS, BS);
      }
    }
    store = BlockStore.open(dir.resolve("store"), BlockStoreSettings.defaults());
    volume = new FrontendVolume(new VolumeId("v"), store, settings, Runnable::run, clock::get, () -> {
      assertFalse(complete.getAndSet(true), "completion is reported once");
    });
    volume.geometry(source.length, BS);
    volume.attach(new BackendLink() {
      @Override
      public synchronized void fetch(long attachId, long[] blocks, boolean noRef) {
        fetches.add(blocks);
      }

      @Override
      public void credit(long attachId, int blocks) {}
    }, 7);
  }

  @AfterEach
  void tearDown() {
    store.close();
  }

  /** What the backend would send for block b: a real encoded frame, decoded as the receiver does. */
  private BlockFrameDecoder frame(long b, boolean targetHasHash, int stream) {
    byte[] block = Arrays.copyOfRange(source, (int) b * BS, (int) (b + 1) * BS);
    BlockFrameEncoder enc = new BlockFrameEncoder(BS);
    UnsafeBuffer out = new UnsafeBuffer(ByteBuffer.allocate(BlockFrameEncoder.maxFrameLength(BS)));
    int n = enc.encode(stream, new VolumeId("v").key(), 7, b, block, BS, FrontendVolume.sha256(block, BS), targetHasHash, out, 0);
    BlockFrameDecoder dec = new BlockFrameDecoder(BS);
    assertEquals(DecodeResult.OK, dec.decode(out, 0, n));
    return dec;
  }

  private void deliverFetched() {
    List<long[]> asked = new ArrayList<>(fetches);
    fetches.clear();
    for (long[] blocks : asked) {
      for (long b : blocks) {
        volume.onFrame(BlockStream.ON_DEMAND, frame(b, false, 0));
      }
    }
  }

  @Test
  void aReadWaitsForItsBlocksAndReturnsTheSourceBytes() throws Exception {
    CompletableFuture<byte[]> read = volume.read(BS + 100, 3 * BS).toCompletableFuture();
    assertFalse(read.isDone(), "the blocks are not here yet");
    assertEquals(List.of(1L, 2L, 3L, 4L), fetches.stream().flatMapToLong(Arrays::stream).boxed().toList());
    deliverFetched();
    assertArrayEquals(Arrays.copyOfRange(source, BS + 100, 4 * BS + 100), read.get(5, TimeUnit.SECONDS));
    assertTrue(fetches.isEmpty());
    assertArrayEquals(Arrays.copyOfRange(source, BS, 2 * BS), volume.read(BS, BS).toCompletableFuture().get(), "served from the store now");
  }

  @Test
  void aWriteWinsOverALateBlockFromTheSource() throws Exception {
    byte[] data = new byte[100];
    Arrays.fill(data, (byte) 0xab);
    CompletableFuture<Void> write = volume.write(5 * BS + 10, data).toCompletableFuture();
    deliverFetched(); // the partial write needs the block's current bytes first
    write.get(5, TimeUnit.SECONDS);
    volume.onFrame(BlockStream.BACKGROUND, frame(5, false, 1)); // the source's copy arrives late
    byte[] expected = Arrays.copyOfRange(source, 5 * BS, 6 * BS);
    System.arraycopy(data, 0, expected, 10, 100);
    assertArrayEquals(expected, volume.read(5 * BS, BS).toCompletableFuture().get());
    assertEquals(1, volume.status().duplicateBlocks(), "the late block counts as a duplicate");
  }

  @Test
  void anUnresolvableRefIsFetchedAgainAsDataAndACorruptFrameIsNeverStored() throws Exception {
    CompletableFuture<byte[]> read = volume.read(2 * BS, BS).toCompletableFuture();
    fetches.clear();
    volume.onFrame(BlockStream.ON_DEMAND, frame(2, true, 0)); // REF to a hash the store lacks
    assertFalse(read.isDone());
    assertEquals(1, volume.status().refMisses());
    assertEquals(List.of(2L), fetches.stream().flatMapToLong(Arrays::stream).boxed().toList());
    // A frame that failed its CRC: the header names the block, which is asked for again.
    BlockFrameDecoder bad = frame(2, false, 0);
    volume.onCorrupt(BlockStream.ON_DEMAND, DecodeResult.BAD_CRC, bad);
    assertFalse(read.isDone(), "a corrupt frame is never stored");
    assertEquals(1, volume.status().corruptFrames());
    deliverFetched();
    assertArrayEquals(Arrays.copyOfRange(source, 2 * BS, 3 * BS), read.get(5, TimeUnit.SECONDS));
  }

  @Test
  void unansweredFetchesAreSentAgainAndCompletionIsReportedOnce() throws Exception {
    volume.read(0, BS);
    fetches.clear();
    clock.addAndGet(settings.fetchTimeout().toNanos() + 1);
    volume.tick();
    assertEquals(List.of(0L), fetches.stream().flatMapToLong(Arrays::stream).boxed().toList(), "sent again after fetch-timeout");
    fetches.clear();
    for (long b = 0; b < BLOCKS; b++) {
      volume.onFrame(BlockStream.BACKGROUND, frame(b, false, 1));
    }
    assertTrue(complete.get());
    assertTrue(volume.completed());
    assertEquals(100.0, volume.status().percent());
  }

  /**
   * Every acknowledged write is in the change log before its acknowledgement, and a pass that
   * holds writes (write-blocking) keeps their acknowledgement back until it is released.
   */
  @Test
  void writesAreTrackedBeforeTheyAreAcknowledgedAndHeldWhileAPassHoldsThem() throws Exception {
    try (io.ferry.blocks.writeback.ChangeTracker changes = io.ferry.blocks.writeback.ChangeTracker.open(dir.resolve("changes.log"), 0)) {
      volume.trackChanges(changes);
      volume.write(2 * BS, new byte[BS]).toCompletableFuture().get(5, TimeUnit.SECONDS); // a whole zero block
      byte[] data = new byte[BS];
      Arrays.fill(data, (byte) 7);
      volume.write(3 * BS, data).toCompletableFuture().get(5, TimeUnit.SECONDS);
      assertEquals(2, changes.pendingBlocks(), "both writes are pending for the source");
      assertTrue(changes.pendingSequence(3) > changes.pendingSequence(2));

      volume.holdWrites();
      assertTrue(volume.writesHeld());
      CompletableFuture<Void> held = volume.write(4 * BS, data).toCompletableFuture();
      TimeUnit.MILLISECONDS.sleep(100);
      assertFalse(held.isDone(), "a held write is not acknowledged");
      assertEquals(0, changes.pendingSequence(4), "nor applied or tracked");
      volume.releaseWrites();
      held.get(5, TimeUnit.SECONDS);
      assertTrue(changes.pendingSequence(4) > 0, "tracked once released");
      assertFalse(volume.writesHeld());
    }
  }
}
