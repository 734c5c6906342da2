package io.ferry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.placement.MigrationInstruction;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Request bodies bound to records, and every way one can be wrong answered with the field it concerns. */
class RequestBodiesTest {

  private static MigrationRoutes.MigrationRequest migration(String body) {
    return RequestBodies.read(body, MigrationRoutes.MigrationRequest.class, "a migration instruction", MigrationRoutes.EXAMPLE);
  }

  private static BadRequest refused(String body) {
    return assertThrows(BadRequest.class, () -> migration(body));
  }

  @Test
  void aValidInstructionBinds() {
    MigrationInstruction in = migration("{\"query\":\"q\",\"nodes\":[\"window-a\",\"filter-a\"],\"to\":\"cloud\"}").instruction();
    assertEquals(MigrationInstruction.of("q", List.of("window-a", "filter-a"), "cloud"), in);
  }

  @Test
  void eachWrongFieldIsNamed() {
    BadRequest missing = refused("{\"query\":\"q\",\"nodes\":[\"a\"]}");
    assertEquals(Optional.of("to"), missing.field());
    assertTrue(missing.getMessage().contains("'to' is missing"), missing::getMessage);

    assertEquals(Optional.of("nodes"), refused("{\"query\":\"q\",\"nodes\":[],\"to\":\"cloud\"}").field());
    assertEquals(Optional.of("nodes"), refused("{\"query\":\"q\",\"nodes\":[\" \"],\"to\":\"cloud\"}").field());
    assertEquals(Optional.of("query"), refused("{\"query\":\"\",\"nodes\":[\"a\"],\"to\":\"cloud\"}").field());
    BadRequest badSite = refused("{\"query\":\"q\",\"nodes\":[\"a\"],\"to\":\"Cloud One\"}");
    assertEquals(Optional.of("to"), badSite.field());
    assertTrue(badSite.getMessage().contains("'Cloud One'"), badSite::getMessage);
    assertEquals(Optional.of("nodes"), refused("{\"query\":\"q\",\"nodes\":[\"a b\"],\"to\":\"cloud\"}").field());

    BadRequest unknown = refused("{\"query\":\"q\",\"nodes\":[\"a\"],\"toSite\":\"cloud\"}");
    assertEquals(Optional.of("toSite"), unknown.field());
    assertTrue(unknown.getMessage().contains("[nodes, query, to]"), unknown::getMessage);

    BadRequest mistyped = refused("{\"query\":\"q\",\"nodes\":{\"a\":1},\"to\":\"cloud\"}");
    assertEquals(Optional.of("nodes"), mistyped.field());
    assertTrue(mistyped.getMessage().contains("wrong type"), mistyped::getMessage);
  }

  @Test
  void bodiesThatAreNotAnObjectNameNoField() {
    BadRequest malformed = refused("{\"query\":\"q\",\"nodes\":[\"a\"");
    assertEquals(Optional.empty(), malformed.field());
    assertTrue(malformed.getMessage().startsWith("malformed JSON at line 1"), malformed::getMessage);
    assertTrue(refused("[1, 2]").getMessage().contains("must be a JSON object"));
    assertTrue(refused("  ").getMessage().contains("must be a migration instruction like"));
  }

  @Test
  void volumeRequestsCheckIdAndBlockSize() {
    String base = "\"sourceSite\":\"edge-a\",\"sourcePath\":\"/i.img\",\"targetSite\":\"cloud\"";
    VolumeRoutes.VolumeRequest ok =
        RequestBodies.read("{\"volume\":\"vm-1\"," + base + "}", VolumeRoutes.VolumeRequest.class, "a volume migration", VolumeRoutes.EXAMPLE);
    assertEquals(65536, ok.spec(65536).blockSizeBytes());
    assertEquals("", ok.spec(65536).traceFile());
    BadRequest size =
        assertThrows(
            BadRequest.class,
            () -> RequestBodies.read("{\"volume\":\"vm-1\",\"blockSize\":3000," + base + "}", VolumeRoutes.VolumeRequest.class, "a volume migration", VolumeRoutes.EXAMPLE));
    assertEquals(Optional.of("blockSize"), size.field());
    BadRequest id =
        assertThrows(
            BadRequest.class,
            () -> RequestBodies.read("{\"volume\":\"../etc\"," + base + "}", VolumeRoutes.VolumeRequest.class, "a volume migration", VolumeRoutes.EXAMPLE));
    assertEquals(Optional.of("volume"), id.field());
    BadRequest site =
        assertThrows(
            BadRequest.class,
            () -> RequestBodies.read("{\"volume\":\"vm-1\",\"sourceSite\":\"Edge_A\",\"sourcePath\":\"/i.img\",\"targetSite\":\"cloud\"}", VolumeRoutes.VolumeRequest.class, "a volume migration", VolumeRoutes.EXAMPLE));
    assertEquals(Optional.of("sourceSite"), site.field());
    assertTrue(site.getMessage().contains("'Edge_A'"), site::getMessage);
  }

  @Test
  void aPlacementNamesValidNodesAndSites() {
    String graph = "{\"id\":\"q\",\"nodes\":[]}";
    for (String placement : List.of("{\"src\":null}", "{\"src\":\"Edge A\"}", "{\"bad node\":\"edge-a\"}")) {
      BadRequest bad =
          assertThrows(
              BadRequest.class,
              () -> RequestBodies.read("{\"graph\":" + graph + ",\"placement\":" + placement + "}", QueryRoutes.DeployRequest.class, "a deployment", "{}"),
              placement);
      assertEquals(Optional.of("placement"), bad.field(), placement + ": " + bad.getMessage());
    }
  }
}
