package io.ferry.runtime.metrics;

import io.ferry.metrics.FerryMetrics;
import io.ferry.placement.MigrationReport;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * A member's metrics in Prometheus form: every meter of the member's {@link FerryMetrics}
 * registry (logic nodes, block path, migrations) plus, with {@code ferry.metrics.jvm}, heap and
 * CPU. {@code Ferry} attaches it at start; {@code GET /metrics} serves {@link #scrape()}.
 */
public final class MemberMetrics implements Extension {

  static final String MIGRATION_STEP = "ferry.migration.step";
  static final String MIGRATION_PAUSE = "ferry.migration.pause";
  static final String MIGRATIONS_ENDED = "ferry.migration.ended";

  private final PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final MeterRegistry registry;

  private MemberMetrics(ActorSystem<?> system) {
    FerryMetrics metrics = FerryMetrics.get(system);
    metrics.exportTo(prometheus);
    this.registry = metrics.registry();
    if (system.settings().config().getBoolean("ferry.metrics.jvm")) {
      new JvmMemoryMetrics().bindTo(registry);
      new ProcessorMetrics().bindTo(registry);
    }
  }

  public static MemberMetrics get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  private static final class Id extends ExtensionId<MemberMetrics> {
    static final Id INSTANCE = new Id();

    @Override
    public MemberMetrics createExtension(ActorSystem<?> system) {
      return new MemberMetrics(system);
    }
  }

  /** Every meter of this member in the Prometheus text format (0.0.4). */
  public String scrape() {
    return prometheus.scrape();
  }

  /**
   * Records an ended migration: each step's duration by step name and outcome, the pause the
   * moved nodes took no input for, and the count by outcome. Called by the placement manager when a
   * migration's process ends (once per migration, whoever asked for it), so the pure move process
   * itself carries no meters.
   */
  public void migrationEnded(MigrationReport report) {
    if (!report.ended()) {
      return;
    }
    for (MigrationReport.Step step : report.steps()) {
      Timer.builder(MIGRATION_STEP)
          .description("Duration of one step of a node migration (stop, relocate, restore, rollback)")
          .tag("step", step.name().label())
          .tag("outcome", report.outcome().name())
          .register(registry)
          .record(Duration.ofMillis(step.durationMillis()));
    }
    Timer.builder(MIGRATION_PAUSE)
        .description("From a migration's first pause to its last resume: how long the moved nodes took no input")
        .tag("outcome", report.outcome().name())
        .register(registry)
        .record(Duration.ofMillis(report.pauseMillis()));
    Counter.builder(MIGRATIONS_ENDED).description("Node migrations that ended, by outcome").tag("outcome", report.outcome().name()).register(registry).increment();
  }
}
