package io.ferry.testkit.seed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/** What the extension hands out and what a failing seeded test reports, run through the JUnit Platform launcher. */
class SeedExtensionTest {

  /** The sample tests run only when this test launches them (surefire skips nested classes anyway). */
  private static volatile boolean launched;
  private static final List<Long> drawn = new ArrayList<>();

  @ExtendWith(SeedExtension.class)
  static class SeededSample {
    @Test
    void failsAfterDrawing(Seed seed) {
      if (!launched) {
        return;
      }
      drawn.add(seed.value());
      throw new AssertionError("boom " + seed.random().nextInt(1000));
    }
  }

  @ExtendWith(SeedExtension.class)
  static class UnseededSample {
    @Test
    void failsWithoutDrawing() {
      if (launched) {
        throw new AssertionError("no seed here");
      }
    }
  }

  private static List<Throwable> failuresOf(Class<?> sample) {
    List<Throwable> failures = new ArrayList<>();
    Launcher launcher = LauncherFactory.create();
    launched = true;
    try {
      launcher.execute(
          LauncherDiscoveryRequestBuilder.request().selectors(selectClass(sample)).build(),
          new TestExecutionListener() {
            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
              if (id.isTest() && result.getStatus() == TestExecutionResult.Status.FAILED) {
                failures.add(result.getThrowable().orElseThrow());
              }
            }
          });
    } finally {
      launched = false;
    }
    return failures;
  }

  @BeforeEach
  @AfterEach
  void clean() {
    drawn.clear();
    System.clearProperty(SeedExtension.PROPERTY);
  }

  @Test
  void aFailureCarriesTheSeedAndItsReplayOption() {
    List<Throwable> failures = failuresOf(SeededSample.class);
    assertEquals(1, failures.size(), failures::toString);
    long seed = drawn.get(0);
    Throwable[] notes = failures.get(0).getSuppressed();
    assertEquals(1, notes.length, () -> List.of(notes).toString());
    String note = notes[0].getMessage();
    assertTrue(note.contains("SeededSample#failsAfterDrawing failed with seed " + seed), note);
    assertTrue(note.contains("-Dferry.seed=" + seed), note);
  }

  @Test
  void thePropertyReplaysTheSeedAndItsRandomNumbers() {
    System.setProperty(SeedExtension.PROPERTY, "424242");
    Throwable first = failuresOf(SeededSample.class).get(0);
    Throwable again = failuresOf(SeededSample.class).get(0);
    assertEquals(List.of(424242L, 424242L), drawn);
    assertEquals("boom " + new Random(424242L).nextInt(1000), first.getMessage());
    assertEquals(first.getMessage(), again.getMessage());
  }

  @Test
  void withoutThePropertyEachRunDrawsAFreshSeed() {
    failuresOf(SeededSample.class);
    failuresOf(SeededSample.class);
    assertEquals(2, drawn.size());
    assertNotEquals(drawn.get(0), drawn.get(1), "two fresh 64-bit seeds should differ");
  }

  @Test
  void aTestThatDrewNoSeedGetsNoNote() {
    List<Throwable> failures = failuresOf(UnseededSample.class);
    assertEquals(1, failures.size());
    assertEquals(0, failures.get(0).getSuppressed().length);
  }

  @Test
  void aMalformedPropertyIsRefusedNamingIt() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SeedExtension.chosen("12x"));
    assertTrue(e.getMessage().contains("-Dferry.seed") && e.getMessage().contains("'12x'"), e.getMessage());
    assertEquals(new Seed(7), SeedExtension.chosen(" 7 "));
  }
}
