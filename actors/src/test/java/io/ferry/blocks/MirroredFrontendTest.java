package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.blocks.writeback.ChangeTracker;
import io.ferry.persistence.blocks.BlockStore;
import io.ferry.persistence.blocks.BlockStoreSettings;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clustered frontends without actors: the primary's export over a real store, its {@link
 * MirrorLink}, and a {@link MirrorVolume} over a second store, with the messages between them
 * delivered by the test (in order, out of order, or never). A write is acknowledged only once the
 * mirror holds it; a promoted mirror serves every acknowledged write and lists them as the
 * source's due; an older version never replaces a newer one; without a mirror a write waits for
 * the next one (and fails after the hold limit), or, degraded, the primary acknowledges alone; a
 * new mirror is filled with everything again.
 */
@ExtendWith(SeedExtension.class)
class MirroredFrontendTest {

  private static final int BS = 4096;
  private static final int BLOCKS = 48;
  private static final VolumeId V = new VolumeId("vm");
  private static final long HOLD_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(30);

  @TempDir Path dir;
  private final AtomicLong clock = new AtomicLong();
  private final BlockSettings settings = BlockSettings.from(ConfigFactory.load());
  private final List<AutoCloseable> closing = new ArrayList<>();
  private Random r;
  private BlockStore primaryStore;
  private FrontendVolume primary;
  private ChangeTracker primaryChanges;
  private MirrorLink link;
  /** What the export acknowledged: the volume's bytes as the workload sees them, for present blocks. */
  private final byte[] expected = new byte[BS * BLOCKS];

  /** A mirror as the primary's link sees it: holds queue up until the test delivers them. */
  private final class Mirror {
    final Path storeDir;
    final BlockStore store;
    final MirrorVolume volume;
    final Deque<MirrorLink.Hold> queue = new ArrayDeque<>();

    Mirror(String name) throws Exception {
      storeDir = dir.resolve(name);
      store = BlockStore.open(storeDir, BlockStoreSettings.defaults());
      closing.add(store);
      volume = MirrorVolume.open(V, store, changesLog(storeDir), clock::get, (long) BS * BLOCKS, BS);
    }

    MirrorLink.Sender sender() {
      return h -> {
        synchronized (queue) {
          queue.add(h);
        }
      };
    }

    MirrorLink.Hold take(boolean newest) {
      synchronized (queue) {
        return newest ? queue.pollLast() : queue.pollFirst();
      }
    }

    int waiting() {
      synchronized (queue) {
        return queue.size();
      }
    }

    /** Delivers one hold to the mirror and its acknowledgement to the primary. */
    void deliver(MirrorLink.Hold h) throws Exception {
      if (h.block() < 0) {
        volume.sync();
      } else {
        volume.hold(h.block(), h.version(), h.data(), h.localWrite(), h.pending());
      }
      link.held(h.id());
    }

    void deliverAll() throws Exception {
      for (MirrorLink.Hold h = take(false); h != null; h = take(false)) {
        deliver(h);
      }
    }
  }

  private static Path changesLog(Path storeDir) throws Exception {
    Files.createDirectories(storeDir.resolve("changes"));
    return storeDir.resolve("changes").resolve(V.value() + ".log");
  }

  @BeforeEach
  void setUp(Seed seed) throws Exception {
    r = new Random(seed.value());
    primaryStore = BlockStore.open(dir.resolve("primary"), BlockStoreSettings.defaults());
    closing.add(primaryStore);
    primary = new FrontendVolume(V, primaryStore, settings, Runnable::run, clock::get, () -> {});
    primary.geometry((long) BS * BLOCKS, BS);
    primaryChanges = ChangeTracker.open(changesLog(dir.resolve("primary")), 0);
    closing.add(primaryChanges);
    primary.trackChanges(primaryChanges);
    // Two thirds of the blocks arrived from the source; the rest is still there only.
    for (int b = 0; b < BLOCKS; b++) {
      if (b % 3 != 2) {
        byte[] block = new byte[BS];
        r.nextBytes(block);
        primaryStore.put(V.value(), b, FrontendVolume.sha256(block, BS), block, 0, BS, false);
        System.arraycopy(block, 0, expected, b * BS, BS);
      }
    }
    link = new MirrorLink(clock::get, 4, TimeUnit.SECONDS.toNanos(5), MirrorLink.Unmirrored.HOLD, HOLD_LIMIT_NANOS);
    primary.mirror(link);
  }

  @AfterEach
  void tearDown() throws Exception {
    for (int i = closing.size() - 1; i >= 0; i--) {
      closing.get(i).close();
    }
  }

  private CompletableFuture<Void> write(long offset, byte[] data) {
    System.arraycopy(data, 0, expected, (int) offset, data.length);
    return primary.write(offset, data).toCompletableFuture();
  }

  private byte[] random(int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  /** Fills until the link reports the mirror in sync. */
  private void fill(Mirror m) throws Exception {
    m.deliverAll(); // writes still on their way (in sync or not, a write waits for its own hold)
    for (int round = 0; round < 100 && !link.inSync(); round++) {
      link.tick(primary);
      m.deliverAll();
    }
    assertTrue(link.inSync(), "the fill ends with the mirror in sync: " + link.status());
    assertEquals(0, link.status().waiting(), "nothing left unacknowledged");
  }

  @Test
  void aSpecAsksForOneOrTwoFrontendsAndOnlyWhereAMirrorCanWork() {
    VolumeSpec one = new VolumeSpec(V, "edge-a", "/img", "cloud", 64 * 1024, "");
    assertEquals(1, one.frontends(), "a spec from before clustered frontends has one");
    assertEquals(1, new VolumeSpec(V, one.sourceSite(), "/img", one.targetSite(), 64 * 1024, "", WritePolicy.TARGET_ONLY, false, 0).frontends(),
        "absent in an old journal (0) reads as one");
    assertTrue(one.withFrontends(2).clustered());
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> one.withFrontends(3));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> one.encryptedAtRest().withFrontends(2), "the at-rest key reaches the primary only");
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> new VolumeSpec(V, "edge-a", "/img", "cloud", 256 * 1024, "").withFrontends(2), "a block must fit one cluster message");
  }

  @Test
  void aWriteAndAFlushAreAcknowledgedOnlyOnceTheMirrorHoldsThem() throws Exception {
    Mirror m = new Mirror("mirror");
    link.use(m.sender(), "m", "member-b");
    CompletableFuture<Void> whole = write(5L * BS, random(BS));
    CompletableFuture<Void> partial = write(8L * BS + 100, random(512)); // block 8 is still at the source only
    assertFalse(whole.isDone(), "not acknowledged before the mirror holds it");
    assertEquals(1, m.waiting(), "the partial write waits for block 8 from the source; the whole one went to the mirror");
    m.deliverAll();
    assertTrue(whole.isDone() && !whole.isCompletedExceptionally());
    assertFalse(partial.isDone(), "a write whose block is still at the source waits for it, mirrored or not");

    CompletableFuture<Void> flush = primary.flush().toCompletableFuture();
    assertFalse(flush.isDone(), "a flush is acknowledged once the mirror forced what it holds");
    m.deliverAll();
    assertTrue(flush.isDone());
    assertEquals(1, link.status().mirroredWrites());
  }

  @Test
  void thePromotedMirrorServesEveryAcknowledgedWriteAndOwesThemToTheSource(Seed seed) throws Exception {
    Mirror m = new Mirror("mirror");
    link.use(m.sender(), "m", "member-b");
    List<CompletableFuture<Void>> acks = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      long b = r.nextInt(BLOCKS);
      if (b % 3 == 2) {
        acks.add(write(b * BS, random(BS))); // whole blocks only: no base from the source needed
      } else {
        int len = 512 * (1 + r.nextInt(8));
        acks.add(write(b * BS + 512L * r.nextInt(BS / 512 - len / 512 + 1), random(len)));
      }
      if (r.nextInt(4) == 0) {
        m.deliverAll();
      }
      if (r.nextInt(8) == 0) {
        link.tick(primary); // fills interleave with writes
      }
    }
    primary.writeZeroes(3L * BS, BS);
    java.util.Arrays.fill(expected, 3 * BS, 4 * BS, (byte) 0);
    fill(m);
    acks.forEach(a -> assertTrue(a.isDone() && !a.isCompletedExceptionally(), "every write acknowledged once the mirror held it"));
    long pendingAtPrimary = primaryChanges.pendingBlocks();

    // The primary's member dies; the mirror's member opens the volume from its own store and log.
    m.volume.close();
    FrontendVolume promoted = new FrontendVolume(V, m.store, settings, Runnable::run, clock::get, () -> {});
    promoted.geometry((long) BS * BLOCKS, BS);
    try (ChangeTracker owed = ChangeTracker.open(changesLog(m.storeDir), 0)) {
      List<Integer> differ = new ArrayList<>();
      for (int b = 0; b < BLOCKS; b++) {
        if ((primaryChanges.pendingSequence(b) > 0) != (owed.pendingSequence(b) > 0)) {
          differ.add(b);
        }
      }
      assertEquals(List.of(), differ, "the promoted frontend owes the source exactly the blocks written at the target (of " + pendingAtPrimary + ")");
      java.util.BitSet present = primary.present();
      assertEquals(present, promoted.present(), "the mirror holds every block the primary held (the rest is fetched from the source)");
      for (int b = present.nextSetBit(0); b >= 0; b = present.nextSetBit(b + 1)) {
        byte[] got = promoted.read((long) b * BS, BS).toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertArrayEquals(java.util.Arrays.copyOfRange(expected, b * BS, (b + 1) * BS), got, "block " + b + " after the promotion (seed " + seed.value() + ")");
        assertEquals(primaryStore.lookup(V.value(), b).orElseThrow().localWrite(), m.store.lookup(V.value(), b).orElseThrow().localWrite(),
            "block " + b + ": a write stays a write (a late source block never replaces it), a copied block stays one");
      }
    }
  }

  @Test
  void anOlderVersionArrivingLateNeverReplacesANewerOne() throws Exception {
    Mirror m = new Mirror("mirror");
    link.use(m.sender(), "m", "member-b");
    link.tick(primary); // fills of blocks 0, 1, 3, 4 (window 4) read now
    assertEquals(4, m.waiting());
    byte[] newer = random(BS);
    CompletableFuture<Void> ack = write(0, newer); // block 0 again, a newer version
    m.deliver(m.take(true)); // the write arrives first
    assertTrue(ack.isDone());
    m.deliverAll(); // then the fill of block 0 read before it
    assertEquals(1, m.volume.stale(), "the fill of block 0 came after the write and was dropped");
    byte[] held = new byte[BS];
    assertTrue(m.store.read(V.value(), 0, held));
    assertArrayEquals(newer, held);
  }

  @Test
  void withoutAMirrorAWriteWaitsForTheNextOneAndSurvivesThePrimaryDyingBeforeTheFillEnds() throws Exception {
    Mirror first = new Mirror("first");
    link.use(first.sender(), "first", "member-b");
    first.deliverAll();
    CompletableFuture<Void> waiting = write(BS, random(BS));
    assertFalse(waiting.isDone());
    MirrorLink.Hold lost = first.take(false);

    link.use(null, null, ""); // the mirror's member died
    assertEquals("none", link.status().state());
    CompletableFuture<Void> next = write(2L * BS, random(BS));
    link.tick(primary);
    assertFalse(waiting.isDone(), "the write the dead mirror never held is not acknowledged by the primary alone");
    assertFalse(next.isDone(), "nor is one made while there is no mirror");
    link.held(lost.id()); // the dead mirror's answer, late, while there is no mirror
    assertFalse(waiting.isDone(), "a late answer from the dead mirror counts for nothing while there is no mirror");
    assertEquals(2, link.status().waiting());

    // The dead member restarts with a stale store: the new mirror drops what it held and is filled again.
    first.store.put(V.value(), 1, FrontendVolume.sha256(new byte[BS], BS), new byte[BS], 0, BS, true);
    first.volume.close();
    first.store.close();
    closing.remove(first.store);
    BlockStore reopened = BlockStore.open(first.storeDir, BlockStoreSettings.defaults());
    closing.add(reopened);
    MirrorVolume fresh = MirrorVolume.open(V, reopened, changesLog(first.storeDir), clock::get, (long) BS * BLOCKS, BS);
    closing.add(fresh);
    assertEquals(0, fresh.blocksPresent(), "a mirror starts empty whatever its member's store held");
    Deque<MirrorLink.Hold> q = new ArrayDeque<>();
    link.use(q::add, "second", "member-c");
    link.held(lost.id()); // a late answer from the first mirror counts for nothing
    assertFalse(waiting.isDone());
    assertEquals(2, q.size(), "both waiting writes go to the new mirror at once, before any fill");
    for (MirrorLink.Hold h = q.poll(); h != null; h = q.poll()) {
      fresh.hold(h.block(), h.version(), h.data(), h.localWrite(), h.pending());
      link.held(h.id());
    }
    assertTrue(waiting.isDone() && !waiting.isCompletedExceptionally() && next.isDone() && !next.isCompletedExceptionally(),
        "acknowledged once the new mirror holds them");
    assertFalse(link.inSync(), "not filled yet");
    // The primary's member dies now, before the fill: the new mirror has both acknowledged writes.
    byte[] held = new byte[BS];
    for (int b = 1; b <= 2; b++) {
      assertTrue(reopened.read(V.value(), b, held), "block " + b + " at the new mirror");
      assertArrayEquals(java.util.Arrays.copyOfRange(expected, b * BS, (b + 1) * BS), held, "the write made while there was no mirror, block " + b);
    }
    assertEquals(2, fresh.pendingBlocks(), "and owes both to the source");

    for (int round = 0; round < 100 && !link.inSync(); round++) {
      link.tick(primary);
      for (MirrorLink.Hold h = q.poll(); h != null; h = q.poll()) {
        fresh.hold(h.block(), h.version(), h.data(), h.localWrite(), h.pending());
        link.held(h.id());
      }
    }
    assertTrue(link.inSync());
    assertEquals(primary.present().cardinality(), fresh.blocksPresent());
    assertEquals(primaryChanges.pendingBlocks(), fresh.pendingBlocks());
    assertEquals(0, link.status().unmirroredWrites());
    assertEquals(2, link.status().mirroredWrites());
  }

  @Test
  void aWriteThatWaitedTheHoldLimitForAMirrorFails() throws Exception {
    link.use(null, null, "");
    link.tick(primary);
    CompletableFuture<Void> w = write(4L * BS, random(BS));
    CompletableFuture<Void> flush = primary.flush().toCompletableFuture();
    clock.addAndGet(HOLD_LIMIT_NANOS);
    link.tick(primary);
    assertFalse(w.isDone(), "waits the whole limit");
    clock.addAndGet(1);
    link.tick(primary);
    assertTrue(w.isCompletedExceptionally() && flush.isCompletedExceptionally(), "then the write and the flush fail (EIO to the client)");
    java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class, w::get);
    assertTrue(e.getCause() instanceof MirrorLink.NoMirrorException, String.valueOf(e.getCause()));
    assertEquals(1, link.status().failedWrites(), "a flush is not a write");
    assertEquals(0, link.status().waiting());

    // The block is still the primary's (a failed write's outcome is unknown to the client): the next mirror gets it with the fill.
    Mirror m = new Mirror("late");
    link.use(m.sender(), "late", "member-c");
    fill(m);
    byte[] held = new byte[BS];
    assertTrue(m.store.read(V.value(), 4, held));
    assertArrayEquals(java.util.Arrays.copyOfRange(expected, 4 * BS, 5 * BS), held);
  }

  @Test
  void degradedThePrimaryAcknowledgesAloneAndCountsIt() throws Exception {
    link = new MirrorLink(clock::get, 4, TimeUnit.SECONDS.toNanos(5), MirrorLink.Unmirrored.DEGRADED, HOLD_LIMIT_NANOS);
    primary.mirror(link);
    Mirror first = new Mirror("first");
    link.use(first.sender(), "first", "member-b");
    CompletableFuture<Void> waiting = write(BS, random(BS));
    assertFalse(waiting.isDone());

    link.use(null, null, "");
    assertTrue(waiting.isDone(), "degraded: the mirror's member died and the primary alone acknowledges the write");
    assertEquals("none", link.status().state());
    assertTrue(write(2L * BS, random(BS)).isDone(), "and the next one, at once");
    assertEquals(2, link.status().unmirroredWrites(), "both are counted as on one copy");
    assertEquals(0, link.status().mirroredWrites());

    Mirror second = new Mirror("second");
    link.use(second.sender(), "second", "member-c");
    fill(second);
    byte[] held = new byte[BS];
    assertTrue(second.store.read(V.value(), 2, held));
    assertArrayEquals(java.util.Arrays.copyOfRange(expected, 2 * BS, 3 * BS), held, "the next mirror gets them with the fill");
  }

  @Test
  void aPromotionUnderWriteBackShipsOnlyTheBlocksTheSourceHasNotConfirmed() throws Exception {
    Mirror m = new Mirror("mirror");
    link.use(m.sender(), "m", "member-b");
    // A write whose hold reaches the mirror only after the source confirmed the shipment that carried it.
    CompletableFuture<Void> late = write(30L * BS, random(BS));
    MirrorLink.Hold lateHold = m.take(false);
    ChangeTracker.Shipment early = primaryChanges.ship(1).orElseThrow();
    assertTrue(primaryChanges.confirmed(early.number()));
    forward(m, early);
    m.deliver(lateHold);
    assertTrue(late.isDone());

    List<CompletableFuture<Void>> acks = new ArrayList<>();
    for (int b = 0; b < 20; b++) {
      acks.add(write((long) b * BS, random(BS)));
    }
    fill(m);
    acks.forEach(a -> assertTrue(a.isDone() && !a.isCompletedExceptionally()));
    assertEquals(21, m.volume.pendingBlocks(), "the mirror owes the source every write (block 30 too, in memory: its hold came after its confirmation)");

    // Two write-back shipments reach the source; the primary forwards each confirmation.
    ChangeTracker.Shipment first = primaryChanges.ship(8).orElseThrow();
    CompletableFuture<Void> again = write(first.blocks().get(0).block() * BS, random(BS)); // rewritten while on its way
    m.deliverAll();
    assertTrue(again.isDone());
    assertTrue(primaryChanges.confirmed(first.number()));
    forward(m, first);
    ChangeTracker.Shipment second = primaryChanges.ship(5).orElseThrow();
    assertTrue(primaryChanges.confirmed(second.number()));
    forward(m, second);
    forward(m, first); // a repeat changes nothing

    assertEquals(20 - 8 - 5 + 1, primaryChanges.pendingBlocks(), "the primary owes the 7 never shipped and the one rewritten");
    assertEquals(20 - 8 - 5 + 1 + 1, m.volume.pendingBlocks(), "the mirror, in memory, block 30 as well (a re-ship at worst)");

    // The primary's member dies: the promoted frontend's log owes exactly what the source lacks.
    m.volume.close();
    try (ChangeTracker owed = ChangeTracker.open(changesLog(m.storeDir), 0)) {
      assertEquals(primaryChanges.pendingBlocks(), owed.pendingBlocks(), "after the promotion only the unconfirmed blocks ship");
      for (int b = 0; b < BLOCKS; b++) {
        assertEquals(primaryChanges.pendingSequence(b), owed.pendingSequence(b), "block " + b + " owed under the primary's sequence");
      }
      ChangeTracker.Shipment next = owed.ship(Integer.MAX_VALUE).orElseThrow();
      assertEquals(8, next.blocks().size(), "the promoted frontend's first shipment: 8 of the 21 blocks written");
      assertEquals(second.number() + 1, next.number(), "numbered on from the primary's");
    }
  }

  private static void forward(Mirror m, ChangeTracker.Shipment s) throws Exception {
    m.volume.shipped(s.number(),
        s.blocks().stream().mapToLong(io.ferry.blocks.writeback.WriteBackAggregator.BlockVersion::block).toArray(),
        s.blocks().stream().mapToLong(io.ferry.blocks.writeback.WriteBackAggregator.BlockVersion::sequence).toArray());
  }

  @Test
  void settingsNameTheModeAndRefuseNonsense() {
    MirrorSettings d = MirrorSettings.from(ConfigFactory.load());
    assertEquals(MirrorLink.Unmirrored.HOLD, d.unmirrored(), "hold is the default: a write is on two copies when acknowledged");
    assertEquals(java.time.Duration.ofSeconds(30), d.holdLimit());
    assertEquals(MirrorLink.Unmirrored.DEGRADED,
        MirrorSettings.from(ConfigFactory.parseString("ferry.blocks.mirror.unmirrored-writes = degraded").withFallback(ConfigFactory.load())).unmirrored());
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> MirrorSettings.from(ConfigFactory.parseString("ferry.blocks.mirror.unmirrored-writes = maybe").withFallback(ConfigFactory.load())));
    assertTrue(e.getMessage().contains("unmirrored-writes"));
  }
}
