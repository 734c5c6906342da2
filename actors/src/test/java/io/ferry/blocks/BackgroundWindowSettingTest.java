package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

class BackgroundWindowSettingTest {
  private static final int BLOCK = 64 * 1024;

  private static BlockSettings at(String extra) {
    return BlockSettings.from(ConfigFactory.parseString("ferry.blocks.link { rtt = 20ms, bandwidth = \"50 Mbit\" }\n" + extra).withFallback(ConfigFactory.load()));
  }

  @Test
  void theWindowIsTheCreditsPlusTheTurnaroundAtLinkRate() {
    BlockSettings s = at("ferry.blocks.background.turnaround = 30ms");
    assertEquals(4, s.backgroundCredits(BLOCK)); // 1.5 BDP of 50 Mbit/s and 20 ms is under 3 blocks: the minimum
    assertEquals(4L * BLOCK + 187_500, s.backgroundWindowBytes(BLOCK));
    assertEquals(4L * BLOCK, at("ferry.blocks.background.turnaround = 0ms").backgroundWindowBytes(BLOCK));
    assertTrue(BlockSettings.from(ConfigFactory.load()).backgroundTurnaround().toMillis() > 0, "a default allowance is set");
  }

  @Test
  void aNegativeOrHugeTurnaroundIsRefusedNamingTheSetting() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> at("ferry.blocks.background.turnaround = -1ms"));
    assertTrue(e.getMessage().contains("background.turnaround"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> at("ferry.blocks.background.turnaround = 1h"));
  }
}
