package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class FailoverNetworkTest {
  private static final String STABLE = "pekko.cluster.split-brain-resolver.stable-after";
  private static final String PAUSE = "pekko.cluster.failure-detector.acceptable-heartbeat-pause";

  private static Config apply(String user) {
    return FailoverNetwork.apply(ConfigFactory.parseString(user), ConfigFactory.load());
  }

  @Test
  void lanIsTheDefaultAndFailsOverInSeconds() {
    Config c = apply("");
    assertEquals(Duration.ofSeconds(5), c.getDuration(STABLE));
    assertEquals(Duration.ofSeconds(2), c.getDuration(PAUSE));
    assertEquals(Duration.ofSeconds(2), c.getDuration("pekko.cluster.down-removal-margin"));
    assertTrue(c.getBoolean("ferry.failover.crash-probe"));
  }

  @Test
  void wanTakesItsOwnBlockButTheMembersFileStillWins() {
    Config wan = apply("ferry.failover.network = wan");
    assertEquals(Duration.ofSeconds(20), wan.getDuration(STABLE));
    assertEquals(Duration.ofSeconds(10), wan.getDuration(PAUSE));
    assertEquals(Duration.ofSeconds(2), wan.getDuration("pekko.cluster.sharding.retry-interval"));
    assertFalse(wan.getBoolean("ferry.failover.crash-probe"));
    Config own = apply("ferry.failover.network = wan\n" + STABLE + " = 7s");
    assertEquals(Duration.ofSeconds(7), own.getDuration(STABLE));
    assertEquals(Duration.ofSeconds(10), own.getDuration(PAUSE));
  }

  @Test
  void anUnknownNetworkIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> apply("ferry.failover.network = moon"));
    assertTrue(e.getMessage().contains("lan or wan"), e.getMessage());
  }
}
