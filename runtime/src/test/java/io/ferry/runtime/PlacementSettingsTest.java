package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.placement.Tier;
import io.ferry.placement.plan.CostModel;
import io.ferry.placement.plan.PlacementManager;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The shipped {@code ferry.placement} block reads into the planner's and manager's settings. */
class PlacementSettingsTest {
  @Test
  void theReferenceBlockIsValid() {
    Config placement = ConfigFactory.load().getConfig("ferry.placement");
    CostModel cost = CostModel.fromConfig(placement);
    assertEquals(0.00004, cost.corePrice(Tier.EDGE));
    PlacementManager.Settings s = PlacementManager.Settings.fromConfig(placement);
    assertEquals(PlacementManager.Mode.MANUAL, s.mode());
    assertEquals(Duration.ofMinutes(2), s.coolDown());
  }
}
