package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.persistence.Sha256;
import io.ferry.persistence.blocks.BlockStore;
import io.ferry.persistence.blocks.BlockStoreSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The member's periodic store reclaim: its settings, and a run over a real store. */
class StoreReclaimerTest {

  private static final int BS = 64 * 1024;

  @TempDir Path dir;

  @Test
  void settingsComeFromTheReferenceConfigAndBadOnesAreRefused() {
    StoreReclaimer.Settings s = StoreReclaimer.Settings.from(ConfigFactory.load());
    assertEquals(Duration.ofMinutes(10), s.interval());
    assertEquals(0.5, s.garbageRatioMin());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new StoreReclaimer.Settings(Duration.ofMinutes(1), 0));
    assertTrue(e.getMessage().contains("garbage-ratio-min"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new StoreReclaimer.Settings(Duration.ofSeconds(-1), 0.5));
  }

  @Test
  void aRunCollectsBlocksThatLocalWritesReplaced() throws Exception {
    Random random = new Random(7);
    try (BlockStore store = BlockStore.open(dir, new BlockStoreSettings(1L << 20, false, 0))) {
      store.registerVolume("v", 64L * BS, BS);
      byte[][] fetched = new byte[64][];
      for (int i = 0; i < 64; i++) {
        fetched[i] = new byte[BS];
        random.nextBytes(fetched[i]);
        store.put("v", i, Sha256.create().digest(fetched[i]), fetched[i], 0, BS, false);
      }
      byte[][] now = fetched.clone();
      for (int i = 0; i < 48; i++) {
        now[i] = new byte[BS];
        random.nextBytes(now[i]);
        store.put("v", i, Sha256.create().digest(now[i]), now[i], 0, BS, true);
      }
      long before = store.stats().bytesOnDisk();
      StoreReclaimer.create(store, new StoreReclaimer.Settings(Duration.ofMinutes(1), 0.5)).run();
      assertTrue(store.stats().bytesOnDisk() < before - 30L * BS, before + " -> " + store.stats().bytesOnDisk());
      assertFalse(store.hasHash(Sha256.create().digest(fetched[0])), "a replaced block in a sealed segment is gone");
      byte[] dst = new byte[BS];
      for (int i = 0; i < 64; i++) {
        assertTrue(store.read("v", i, dst));
        assertArrayEquals(now[i], dst, "block " + i);
      }
    }
  }
}
