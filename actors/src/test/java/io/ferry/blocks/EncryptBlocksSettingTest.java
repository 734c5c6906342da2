package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

/** ferry.security.blocks.encrypt: auto follows member TLS, on and off are what they say, anything else is refused. */
class EncryptBlocksSettingTest {

  @Test
  void autoFollowsMemberTlsAndOthersAreRefused() {
    assertFalse(BlockResources.encryptBlocks(ConfigFactory.empty()), "without the security section: plain frames");
    assertFalse(BlockResources.encryptBlocks(ConfigFactory.parseString("ferry.security { blocks.encrypt = auto, artery.enabled = off }")));
    assertTrue(BlockResources.encryptBlocks(ConfigFactory.parseString("ferry.security { blocks.encrypt = auto, artery.enabled = on }")));
    assertTrue(BlockResources.encryptBlocks(ConfigFactory.parseString("ferry.security { blocks.encrypt = on, artery.enabled = off }")));
    assertFalse(BlockResources.encryptBlocks(ConfigFactory.parseString("ferry.security { blocks.encrypt = off, artery.enabled = on }")));
    assertThrows(IllegalArgumentException.class, () -> BlockResources.encryptBlocks(ConfigFactory.parseString("ferry.security.blocks.encrypt = yes")));
  }
}
