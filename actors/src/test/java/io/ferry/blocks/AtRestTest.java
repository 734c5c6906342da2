package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A volume kept encrypted at rest: the target's store holds no block in the clear, reads and
 * writes see the source's bytes, a REF never links it to another volume's block, and a target
 * restarted without the key (the source unreachable) says why it cannot serve and loses nothing:
 * once the key arrives the same blocks read back intact.
 */
@ExtendWith(SeedExtension.class)
class AtRestTest {
  private static final int BS = 4096;
  private static final int BLOCKS = 16;

  @TempDir Path dir;
  private final BlockSettings settings = BlockSettings.from(ConfigFactory.load());
  private final List<long[]> fetches = new ArrayList<>();
  private final List<Boolean> noRefs = new ArrayList<>();

  private FrontendVolume open(BlockStore store) throws IOException {
    FrontendVolume v = new FrontendVolume(new VolumeId("v"), store, settings, Runnable::run, () -> 0, () -> {});
    v.encryptedAtRest();
    v.geometry((long) BS * BLOCKS, BS);
    v.attach(new BackendLink() {
      @Override
      public synchronized void fetch(long attachId, long[] blocks, boolean noRef) {
        fetches.add(blocks);
        noRefs.add(noRef);
      }

      @Override
      public void credit(long attachId, int blocks) {}
    }, 7);
    return v;
  }

  private static BlockFrameDecoder frame(byte[] source, long b, boolean ref) {
    byte[] block = Arrays.copyOfRange(source, (int) b * BS, (int) (b + 1) * BS);
    UnsafeBuffer out = new UnsafeBuffer(ByteBuffer.allocate(BlockFrameEncoder.maxFrameLength(BS)));
    int n = new BlockFrameEncoder(BS).encode(0, new VolumeId("v").key(), 7, b, block, BS, FrontendVolume.sha256(block, BS), ref, out, 0);
    BlockFrameDecoder dec = new BlockFrameDecoder(BS);
    assertEquals(DecodeResult.OK, dec.decode(out, 0, n));
    return dec;
  }

  @Test
  void theStoreHoldsCiphertextAndARestartWithoutTheKeyLosesNothing(Seed seed) throws Exception {
    Random r = new Random(seed.value());
    byte[] source = new byte[BS * BLOCKS];
    r.nextBytes(source);
    byte[] key = new byte[AtRestCipher.KEY_LENGTH];
    r.nextBytes(key);
    BlockStore store = BlockStore.open(dir.resolve("store"), BlockStoreSettings.defaults());
    FrontendVolume v = open(store);

    v.onFrame(BlockStream.ON_DEMAND, frame(source, 0, false));
    assertFalse(store.lookup("v", 0).isPresent(), "a block that arrives before the key is not stored in the clear");
    assertEquals(1, v.restKeyMissing());
    assertArrayEquals(new long[] {0}, fetches.get(0), "and is asked for again");

    v.restKey(key);
    // A REF names a plain hash, maybe another volume's block in the clear: never linked, the bytes are asked for.
    store.registerVolume("other", BS, BS);
    byte[] block3 = Arrays.copyOfRange(source, 3 * BS, 4 * BS);
    store.put("other", 0, FrontendVolume.sha256(block3, BS), block3, 0, BS, false);
    int asked = fetches.size();
    v.onFrame(BlockStream.BACKGROUND, frame(source, 3, true));
    assertFalse(store.lookup("v", 3).isPresent(), "linked to another volume's plain block");
    assertEquals(asked + 1, fetches.size());
    assertTrue(noRefs.get(noRefs.size() - 1), "asked again without REF");
    for (long b = 0; b < BLOCKS; b++) {
      v.onFrame(BlockStream.BACKGROUND, frame(source, b, false));
    }
    assertEquals(BLOCKS, store.presentCount("v"));
    byte[] raw = new byte[BS];
    for (long b = 0; b < BLOCKS; b++) {
      assertTrue(store.read("v", b, raw));
      assertFalse(Arrays.equals(raw, Arrays.copyOfRange(source, (int) b * BS, (int) (b + 1) * BS)), "block " + b + " is in the clear");
      assertFalse(b != 3 && store.hasHash(FrontendVolume.sha256(Arrays.copyOfRange(source, (int) b * BS, (int) (b + 1) * BS), BS)), "the plain hash is indexed");
    }
    assertArrayEquals(source, v.read(0, source.length).toCompletableFuture().get(5, TimeUnit.SECONDS));
    byte[] written = new byte[100];
    r.nextBytes(written);
    v.write(BS + 10, written).toCompletableFuture().get(5, TimeUnit.SECONDS);
    System.arraycopy(written, 0, source, BS + 10, written.length);
    assertArrayEquals(source, v.read(0, source.length).toCompletableFuture().get(5, TimeUnit.SECONDS), "a local write reads back");


    // The target restarts while the source is unreachable: the store reopens, the key does not come.
    store.close();
    BlockStore reopened = BlockStore.open(dir.resolve("store"), BlockStoreSettings.defaults());
    try {
      FrontendVolume after = open(reopened);
      assertEquals(BLOCKS, reopened.presentCount("v"), "nothing lost");
      String why = after.status().unavailable();
      assertTrue(why.contains("lives only at its source site") && why.contains("16 blocks held here are intact"), "the status says why it cannot serve: " + why);
      ExecutionException refused = assertThrows(ExecutionException.class, () -> after.read(0, BS).toCompletableFuture().get(5, TimeUnit.SECONDS));
      Throwable cause = refused.getCause() instanceof java.util.concurrent.CompletionException c ? c.getCause() : refused.getCause();
      assertTrue(String.valueOf(cause.getMessage()).contains("lives only at its source site"), String.valueOf(cause));
      assertTrue(cause.getMessage().contains("16 blocks held here are intact"), cause.getMessage());
      after.restKey(key);
      assertEquals("", after.status().unavailable(), "served again once the key is here");
      assertArrayEquals(source, after.read(0, source.length).toCompletableFuture().get(5, TimeUnit.SECONDS), "served again with the key");
      FrontendVolume wrongKey = open(reopened);
      byte[] other = key.clone();
      other[0] ^= 1;
      wrongKey.restKey(other);
      assertThrows(ExecutionException.class, () -> wrongKey.read(0, BS).toCompletableFuture().get(5, TimeUnit.SECONDS), "another key never yields bytes");
    } finally {
      reopened.close();
    }
  }

  @Test
  void aChangedBlockDoesNotOpen() throws Exception {
    AtRestCipher c = new AtRestCipher(new byte[32]);
    byte[] block = new byte[BS];
    new Random(1).nextBytes(block);
    byte[] tag = c.tag(block, BS);
    byte[] sealed = c.seal(block, BS, tag);
    byte[] copy = sealed.clone();
    c.open(copy, BS, tag);
    assertArrayEquals(block, copy);
    sealed[100] ^= 4;
    assertThrows(IOException.class, () -> c.open(sealed, BS, tag));
  }
}
