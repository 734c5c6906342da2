package io.ferry.simulator.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.simulator.report.RunReport;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BlockIntegrityCheckTest {

  private static final BlockIntegrityCheck.FinalState EQUAL = new BlockIntegrityCheck.FinalState(true, -1, "");

  @Test
  void consistentReadsAndAnEqualVolumePass() {
    RunReport.Verdict v = BlockIntegrityCheck.check(10, 3, List.of(), Map.of("vol-1", EQUAL));
    assertTrue(v.ok(), v.detail());
  }

  @Test
  void aReadThatMissedAnAcknowledgedWriteIsCaught() {
    RunReport.Verdict v =
        BlockIntegrityCheck.check(10, 3, List.of(new BlockIntegrityCheck.ReadMismatch("vol-1", 1200, 4096, 512, 7)), Map.of("vol-1", EQUAL));
    assertFalse(v.ok());
    assertTrue(v.detail().contains("differs at byte 4103"), v.detail());
  }

  @Test
  void aFinalVolumeThatDiffersOrCannotBeReadIsCaught() {
    assertFalse(BlockIntegrityCheck.check(1, 0, List.of(), Map.of("vol-1", new BlockIntegrityCheck.FinalState(true, 65536, ""))).ok());
    assertFalse(BlockIntegrityCheck.check(1, 0, List.of(), Map.of("vol-1", new BlockIntegrityCheck.FinalState(false, -1, "export gone"))).ok());
    assertFalse(BlockIntegrityCheck.check(1, 0, List.of(), Map.of()).ok(), "a run that checked no volume proves nothing");
  }

  @Test
  void firstDifferenceFindsTheByteOrNone() {
    byte[] expected = {0, 1, 2, 3, 4};
    assertEquals(-1, BlockIntegrityCheck.firstDifference(expected, 1, new byte[] {1, 2, 3}, 3));
    assertEquals(2, BlockIntegrityCheck.firstDifference(expected, 1, new byte[] {1, 2, 9}, 3));
    assertEquals(2, BlockIntegrityCheck.firstDifference(expected, 1, new byte[] {1, 2}, 3), "a short read differs where it ends");
  }
}
