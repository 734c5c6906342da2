package io.ferry.testkit.seed;

import java.lang.reflect.Method;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.LifecycleMethodExecutionExceptionHandler;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * Seeded randomness for JUnit 5 tests: a {@link Seed} parameter of a test or lifecycle method is
 * {@code -Dferry.seed} when that is set (to replay a failure), else a fresh seed; when the test
 * fails, the seed and the command that replays it are printed and attached to the failure.
 *
 * <pre>{@code
 * @ExtendWith(SeedExtension.class)
 * class MyQueryTest {
 *   @Test
 *   void windowsAgreeWhateverTheBatching(Seed seed) {
 *     Random rnd = seed.random();
 *     ...
 *   }
 * }
 * }</pre>
 *
 * A seed drawn in {@code @BeforeAll} is the class's seed, shared by its tests; otherwise each test
 * has its own.
 */
public final class SeedExtension implements ParameterResolver, TestExecutionExceptionHandler, LifecycleMethodExecutionExceptionHandler {

  /** The system property that replays a seed. */
  public static final String PROPERTY = "ferry.seed";

  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(SeedExtension.class);
  private static final String KEY = "seed";

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == Seed.class;
  }

  @Override
  public Seed resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return context.getStore(NAMESPACE).getOrComputeIfAbsent(KEY, k -> chosen(System.getProperty(PROPERTY)), Seed.class);
  }

  /** The seed {@code property} names (a whole number), or a fresh one when it is not set. */
  static Seed chosen(String property) {
    if (property == null || property.isBlank()) {
      return new Seed(ThreadLocalRandom.current().nextLong());
    }
    try {
      return new Seed(Long.parseLong(property.trim()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("-D" + PROPERTY + " must be a whole number (a seed a failed test printed), got '" + property + "'");
    }
  }

  @Override
  public void handleTestExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
    throw withSeed(context, failure);
  }

  @Override
  public void handleBeforeAllMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
    throw withSeed(context, failure);
  }

  @Override
  public void handleBeforeEachMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
    throw withSeed(context, failure);
  }

  @Override
  public void handleAfterEachMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
    throw withSeed(context, failure);
  }

  /** Prints the seed the failed test drew, if it drew one, and attaches it to the failure for the test report. */
  private static Throwable withSeed(ExtensionContext context, Throwable failure) {
    Seed seed = context.getStore(NAMESPACE).get(KEY, Seed.class);
    if (seed == null) {
      return failure;
    }
    String test = context.getRequiredTestClass().getSimpleName() + context.getTestMethod().map(Method::getName).map(m -> "#" + m).orElse("");
    // failsafe runs the *IT classes and takes -Dit.test; surefire takes -Dtest
    String selector = context.getRequiredTestClass().getSimpleName().endsWith("IT") ? "-Dit.test" : "-Dtest";
    String note = test + " failed with " + seed + "; replay with " + seed.replayOption() + " (e.g. mvn verify " + selector + "='" + test + "' "
        + seed.replayOption() + ")";
    System.err.println(note);
    failure.addSuppressed(new SeedNote(note));
    return failure;
  }

  /** Carries the replay note into the failure's report; it has no stack of its own. */
  static final class SeedNote extends Exception {
    SeedNote(String note) {
      super(note, null, false, false);
    }
  }
}
