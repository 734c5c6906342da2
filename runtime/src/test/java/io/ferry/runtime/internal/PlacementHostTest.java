package io.ferry.runtime.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The placement host's persisted state and settings: a bounded decision history, pins, config checks. */
class PlacementHostTest {

  private static PlacementHost.DecisionMade decision(int i) {
    return new PlacementHost.DecisionMade(i, "q", "n" + i, "proposed", "edge-a", "cloud", "reason " + i);
  }

  @Test
  void theDecisionHistoryKeepsTheNewestUpToItsBound() {
    PlacementHost.State s = new PlacementHost.State(List.of(), Map.of());
    for (int i = 0; i < PlacementHost.HISTORY_MAX + 7; i++) {
      s = s.with(decision(i));
    }
    assertEquals(PlacementHost.HISTORY_MAX, s.decisions().size());
    assertEquals(7, s.decisions().get(0).at(), "the oldest seven were dropped");
    assertEquals(PlacementHost.HISTORY_MAX + 6, s.decisions().get(s.decisions().size() - 1).at());
    assertTrue(s.decisions().get(0).line().startsWith("decision proposed query=q node=n7 edge-a -> cloud: reason 7"));
  }

  @Test
  void aPinIsKeptPerNodeAndTheLatestWins() {
    PlacementHost.State s = new PlacementHost.State(List.of(), Map.of())
        .with(new PlacementHost.Pinned("q", "window", "cloud"))
        .with(new PlacementHost.Pinned("q", "window", "edge-a"));
    assertEquals(Map.of("q/window", "edge-a"), s.pins());
    assertEquals(Map.of(), s.with(new PlacementHost.Unpinned("q", "window")).pins(), "an unpin lifts the pin, and a restart replays it so");
  }

  @Test
  void aModeIsKeptPerQueryAndForTheClusterAndDefaultFollowsTheClusterAgain() {
    PlacementHost.State s = new PlacementHost.State(List.of(), Map.of())
        .with(new PlacementHost.ModeSet("q", "manual"))
        .with(new PlacementHost.ModeSet(null, "automatic"))
        .with(new PlacementHost.Pinned("q", "window", "cloud"));
    assertEquals(Map.of("q", "manual", PlacementHost.CLUSTER_MODE, "automatic"), s.modes(), "a restart replays both modes");
    assertEquals(Map.of("q/window", "cloud"), s.pins(), "a pin leaves the modes alone");
    assertEquals(Map.of(PlacementHost.CLUSTER_MODE, "automatic"), s.with(new PlacementHost.ModeSet("q", null)).modes());
  }

  @Test
  void settingsReadTheShippedBlockAndRejectAnUnknownLoadSource() {
    PlacementHost.Settings s = PlacementHost.Settings.fromConfig(ConfigFactory.load(), Duration.ofSeconds(40));
    assertEquals("process", s.measuredLoad());
    assertEquals(Map.of(), s.siteCores());
    PlacementHost.Settings sites = PlacementHost.Settings.fromConfig(
        ConfigFactory.parseString("ferry.placement.sites { edge-a { cores = 2 } }").withFallback(ConfigFactory.load()), Duration.ofSeconds(40));
    assertEquals(Map.of("edge-a", 2.0), sites.siteCores());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PlacementHost.Settings.fromConfig(
        ConfigFactory.parseString("ferry.placement.measured-load = guess").withFallback(ConfigFactory.load()), Duration.ofSeconds(40)));
    assertTrue(e.getMessage().contains("measured-load"), e::getMessage);
  }
}
