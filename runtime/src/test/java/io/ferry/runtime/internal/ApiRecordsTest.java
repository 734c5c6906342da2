package io.ferry.runtime.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import io.ferry.api.VolumeStatus;
import io.ferry.blocks.FrontendVolume;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeMigration;
import io.ferry.blocks.VolumeSpec;
import io.ferry.blocks.plan.TransferProgress;
import io.ferry.placement.Site;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ApiRecordsTest {

  private static final VolumeSpec SPEC = new VolumeSpec(new VolumeId("v"), new Site("edge-a"), "/img", new Site("cloud"), 65536, "");

  /** Every phase the volume migration can report has an API phase; a new one makes this fail until it is mapped. */
  @Test
  void everyVolumeMigrationPhaseMaps() {
    List<VolumeMigration.Phase> phases =
        List.of(
            new VolumeMigration.New(),
            new VolumeMigration.Attaching(SPEC),
            new VolumeMigration.Streaming(SPEC, 65536, 65536, 0),
            new VolumeMigration.Copied(SPEC, 65536, 65536),
            new VolumeMigration.Failed("grown"),
            new VolumeMigration.Stopped(),
            new VolumeMigration.Converging(SPEC, 65536, 65536, 1, -1),
            new VolumeMigration.CutOver(SPEC, 65536, 65536),
            new VolumeMigration.Paused(new VolumeMigration.Copied(SPEC, 65536, 65536)),
            new VolumeMigration.Aborting(SPEC),
            new VolumeMigration.Aborted(SPEC),
            new VolumeMigration.Reversing(SPEC, 65536, 65536),
            new VolumeMigration.Reversed(SPEC));
    assertEquals(VolumeMigration.Phase.class.getPermittedSubclasses().length, phases.size(), "a phase is missing from this test");
    for (VolumeMigration.Phase p : phases) {
      assertEquals(p.label(), ApiRecords.phase(p.label()).name());
    }
    assertThrows(IllegalStateException.class, () -> ApiRecords.phase("SPINNING"));
  }

  /** The typed transfer writes the JSON the untyped map wrote, numbers narrowed by CBOR included. */
  @Test
  void theTransferRecordKeepsTheMapsJson() throws Exception {
    TransferProgress progress = new TransferProgress(16, 65536);
    progress.present(4);
    progress.sent(TransferProgress.LZ4, 1000, 65536, 1_000_000_000L);
    progress.sent(TransferProgress.ZERO, 10, 65536, 2_000_000_000L);
    Map<String, Object> map = new LinkedHashMap<>(progress.snapshot(2_000_000_000L));
    map.put("blocks", 16); // an Integer, as CBOR may hand a small long back
    ObjectMapper json = JsonMapper.builder().addModule(new Jdk8Module()).build();
    JsonNode before = json.readTree(json.writeValueAsString(map));
    JsonNode after = json.readTree(json.writeValueAsString(ApiRecords.transfer(map)));
    assertTrue(before.has("etaSeconds") && before.has("lz4Bytes"), before::toString);
    assertEquals(before, after);

    map.remove("etaSeconds");
    assertTrue(json.readTree(json.writeValueAsString(ApiRecords.transfer(map))).path("etaSeconds").isMissingNode(), "no rate, no ETA key");
    map.remove("wireBytes");
    assertThrows(IllegalStateException.class, () -> ApiRecords.transfer(map));
  }

  @Test
  void aFrontendWithoutGeometryHasNoTransfer() throws Exception {
    FrontendVolume.FrontendStatus f = new FrontendVolume.FrontendStatus(new VolumeId("v"), -1, 65536, 0, 0, 0, false, Map.of(), 0, 0, 0, 0, 0, 0, 0, 0, "");
    VolumeStatus.Frontend mapped = ApiRecords.frontend(f);
    assertEquals(Optional.empty(), mapped.transfer());
  }

  @Test
  void whyTheTargetCannotServeIsInTheJsonOnlyWhenItCannot() throws Exception {
    ObjectMapper json = JsonMapper.builder().addModule(new Jdk8Module()).build();
    FrontendVolume.FrontendStatus serving = new FrontendVolume.FrontendStatus(new VolumeId("v"), 65536, 65536, 1, 1, 100, true, Map.of(), 0, 0, 0, 0, 0, 0, 0, 0, "");
    assertTrue(json.readTree(json.writeValueAsString(ApiRecords.frontend(serving))).path("unavailable").isMissingNode());
    FrontendVolume.FrontendStatus keyless = new FrontendVolume.FrontendStatus(new VolumeId("v"), 65536, 65536, 1, 1, 100, true, Map.of(), 0, 0, 0, 0, 0, 0, 0, 0, "the key lives at the source");
    assertEquals("the key lives at the source", json.readTree(json.writeValueAsString(ApiRecords.frontend(keyless))).path("unavailable").asText());
  }

  @Test
  void aPreCopyVolumeShowsTheSourcesUrlUntilTheCutOverAndItsPasses() {
    VolumeSpec warm = SPEC.withPreCopy();
    VolumeRegistry.VolumeInfo info = new VolumeRegistry.VolumeInfo(warm, Optional.empty(), Optional.empty(), "edge-member", "cloud-member");
    io.ferry.blocks.precopy.PreCopyLife.View view = new io.ferry.blocks.precopy.PreCopyLife.View("CONVERGING", "WRITE_BLOCKING", "writes outpace the link",
        List.of(new io.ferry.blocks.precopy.PreCopyLife.PassView(0, -1, 0, false, false), new io.ferry.blocks.precopy.PreCopyLife.PassView(1, 40, 900, false, false)),
        12, -1, 100, 3, 0, "", "");
    io.ferry.blocks.BlockBackend.StatusReply backend = new io.ferry.blocks.BlockBackend.StatusReply(Optional.empty(), "edge-member", "", view, "nbd://edge:10809/v");
    io.ferry.blocks.BlockFrontend.StatusReply notExported = new io.ferry.blocks.BlockFrontend.StatusReply(Optional.empty(), "", "cloud-member", "COPIED", "", Optional.empty());
    VolumeStatus st = ApiRecords.volumeStatus(info, Optional.of(notExported), Optional.of(backend));
    assertEquals("nbd://edge:10809/v", st.nbdUrl(), "before the cut-over the workload's URL is the source's");
    VolumeStatus.PreCopy pc = st.preCopy().orElseThrow();
    assertEquals("WRITE_BLOCKING", pc.mode());
    assertEquals("writes outpace the link", pc.writeBlockingReason());
    assertEquals(40, pc.passes().get(1).changedBlocks());
    io.ferry.blocks.BlockFrontend.StatusReply exported = new io.ferry.blocks.BlockFrontend.StatusReply(Optional.empty(), "nbd://cloud:10809/v", "cloud-member", "CUT_OVER", "", Optional.empty());
    assertEquals("nbd://cloud:10809/v", ApiRecords.volumeStatus(info, Optional.of(exported), Optional.of(backend)).nbdUrl());
    VolumeStatus plain = ApiRecords.volumeStatus(new VolumeRegistry.VolumeInfo(SPEC, Optional.empty(), Optional.empty(), "a", "b"), Optional.of(exported),
        Optional.of(new io.ferry.blocks.BlockBackend.StatusReply(Optional.empty(), "a", "")));
    assertTrue(plain.preCopy().isEmpty());
  }
}
