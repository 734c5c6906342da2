package io.ferry.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The one Micrometer registry of a member (an {@code ActorSystem}): logic nodes and block actors
 * register their meters here; the runtime adds the registry that exports them (Prometheus, served
 * at {@code GET /metrics}). Meters registered before an exporter is added are carried over to it.
 * Several members in one JVM (tests, the demo, the simulator) each have their own.
 */
public final class FerryMetrics implements Extension {

  private final CompositeMeterRegistry registry = new CompositeMeterRegistry();

  private FerryMetrics() {}

  public static FerryMetrics get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  private static final class Id extends ExtensionId<FerryMetrics> {
    static final Id INSTANCE = new Id();

    @Override
    public FerryMetrics createExtension(ActorSystem<?> system) {
      return new FerryMetrics();
    }
  }

  /** Where to register a meter; it records nothing until an exporter is added. */
  public MeterRegistry registry() {
    return registry;
  }

  /** Adds a registry every meter of this member is also kept in, such as a Prometheus registry. */
  public void exportTo(MeterRegistry exporter) {
    registry.add(exporter);
  }
}
