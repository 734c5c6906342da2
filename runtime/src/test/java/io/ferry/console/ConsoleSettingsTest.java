package io.ferry.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code ferry.console} settings and what a member's probe reads from its meters. */
class ConsoleSettingsTest {

  @Test
  void theDefaultsAreReadAndOutOfRangeSettingsNameTheSetting() {
    ConsoleSnapshots.Settings defaults = ConsoleSnapshots.Settings.from(ConfigFactory.load());
    assertEquals(new ConsoleSnapshots.Settings(Duration.ofSeconds(1), 16, 1L << 20, Duration.ofSeconds(2)), defaults);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new ConsoleSnapshots.Settings(Duration.ofMillis(10), 16, 1L << 20, Duration.ofSeconds(2)))
        .getMessage().contains("ferry.console.interval"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new ConsoleSnapshots.Settings(Duration.ofSeconds(1), 0, 1L << 20, Duration.ofSeconds(2)))
        .getMessage().contains("ferry.console.clients-max"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new ConsoleSnapshots.Settings(Duration.ofSeconds(1), 16, 100, Duration.ofSeconds(2)))
        .getMessage().contains("ferry.console.snapshot-bytes-max"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ConsoleSnapshots.Settings.from(ConfigFactory.parseString("ferry.console.interval = soon").withFallback(ConfigFactory.load())))
        .getMessage().contains("invalid console configuration"));
    assertThrows(IllegalArgumentException.class, () -> new SnapshotAssembler.Limits(1, 1, 0, 1, 1));
  }

  @Test
  void theProbeReportsEachNodesBatchTimerAndEachVolumesFetchTimer() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Timer.builder(MemberProbe.NODE_BATCH).tag("query", "q1").tag("node", "out").register(registry).record(Duration.ofMillis(30));
    Timer.builder(MemberProbe.NODE_BATCH).tag("query", "q1").tag("node", "out").register(registry).record(Duration.ofMillis(10));
    Timer.builder(MemberProbe.BLOCK_FETCH).tag("volume", "vol1").register(registry).record(Duration.ofMillis(5));
    MemberLoad load = MemberProbe.load("pekko://ferry@127.0.0.1:1", registry);
    assertEquals(List.of(new MemberLoad.TimerTotal("q1/out", 2, 40.0)), load.nodeBatches());
    assertEquals(List.of(new MemberLoad.TimerTotal("vol1", 1, 5.0)), load.volumeFetches());
    assertTrue(load.heapUsedBytes() > 0);
  }
}
