package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.ferry.placement.Site;
import org.junit.jupiter.api.Test;

/** A volume's spec names its sites as typed {@link Site}s, and still reads and writes them as plain names. */
class VolumeSpecTest {

  @Test
  void sitesAreTypedAndTravelAsTheirNames() throws Exception {
    VolumeSpec spec = new VolumeSpec(new VolumeId("v"), "edge-a", "/images/v.img", "cloud", 64 * 1024, null);
    assertEquals(Site.of("edge-a"), spec.sourceSite());
    assertEquals("", spec.traceFile());
    ObjectMapper json = new ObjectMapper();
    String text = json.writeValueAsString(spec);
    assertTrue(text.contains("\"sourceSite\":\"edge-a\"") && text.contains("\"targetSite\":\"cloud\""), text);
    assertEquals(spec, json.readValue(text, VolumeSpec.class));
  }

  @Test
  void badSitesAreRefusedNamingWhatIsWrong() {
    IllegalArgumentException name = assertThrows(IllegalArgumentException.class,
        () -> new VolumeSpec(new VolumeId("v"), "Edge A", "/images/v.img", "cloud", 64 * 1024, ""));
    assertTrue(name.getMessage().contains("Edge A"), name.getMessage());
    IllegalArgumentException same = assertThrows(IllegalArgumentException.class,
        () -> new VolumeSpec(new VolumeId("v"), "cloud", "/images/v.img", "cloud", 64 * 1024, ""));
    assertTrue(same.getMessage().contains("same site"), same.getMessage());
  }

  @Test
  void preCopyIsOffInOlderJournalsAndTravelsWhenOn() throws Exception {
    ObjectMapper json = new ObjectMapper();
    VolumeSpec spec = new VolumeSpec(new VolumeId("v"), "edge-a", "/images/v.img", "cloud", 64 * 1024, "");
    String old = json.writeValueAsString(spec).replace(",\"preCopy\":false", "");
    assertTrue(!old.contains("preCopy"), old);
    assertEquals(false, json.readValue(old, VolumeSpec.class).preCopy());
    VolumeSpec warm = spec.withPreCopy();
    assertTrue(warm.preCopy());
    assertEquals(warm, json.readValue(json.writeValueAsString(warm), VolumeSpec.class));
    assertTrue(warm.withWritePolicy(WritePolicy.WRITE_BACK).preCopy(), "a policy change keeps the mode");
    IllegalArgumentException clustered = assertThrows(IllegalArgumentException.class, () -> warm.withFrontends(2));
    assertTrue(clustered.getMessage().contains("one frontend"), clustered.getMessage());
  }
}
