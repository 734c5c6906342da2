package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.placement.Site;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The registry's decisions on starting and stopping volume migrations, each refusal with its reason. */
class VolumeRosterTest {

  private static final Set<Site> BOTH = Set.of(Site.of("edge-a"), Site.of("cloud"));

  private static VolumeSpec spec(String volume) {
    return new VolumeSpec(new VolumeId(volume), "edge-a", "/images/" + volume + ".img", "cloud", 64 * 1024, "");
  }

  @Test
  void aVolumeStartsOnceRunsUntilStoppedAndNeverStartsAgain() {
    VolumeRoster r = VolumeRoster.empty();
    assertEquals(Optional.empty(), r.refuseStart(spec("v"), BOTH));
    r = r.started(spec("v")).started(spec("a"));
    assertEquals(List.of(spec("a"), spec("v")), r.runningInOrder(), "listed by volume id");
    assertEquals(Optional.of("volume v is already migrating"), r.refuseStart(spec("v"), BOTH));
    assertEquals(Optional.empty(), r.refuseStop(new VolumeId("v")));
    r = r.stopped(new VolumeId("v"));
    assertEquals(List.of(spec("a")), r.runningInOrder());
    assertTrue(r.refuseStart(spec("v"), BOTH).orElseThrow().contains("start it under a new volume id"));
    assertEquals(Optional.of("volume v is not migrating"), r.refuseStop(new VolumeId("v")));
    VolumeRoster after = r;
    assertThrows(IllegalStateException.class, () -> after.started(spec("v")), "a journal that starts a stopped volume is refused");
  }

  @Test
  void aSiteWithoutALiveMemberIsNamedWithTheLiveOnes() {
    VolumeRoster r = VolumeRoster.empty();
    String source = r.refuseStart(spec("v"), Set.of(Site.of("cloud"))).orElseThrow();
    assertEquals("no live member at source site 'edge-a' (live sites: [cloud])", source);
    String target = r.refuseStart(spec("v"), Set.of(Site.of("edge-a"), Site.of("edge-b"))).orElseThrow();
    assertEquals("no live member at target site 'cloud' (live sites: [edge-a, edge-b])", target);
  }
}
