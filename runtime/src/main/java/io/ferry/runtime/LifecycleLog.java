package io.ferry.runtime;

import io.ferry.query.node.NodeLifecycle;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs, at INFO on {@value #LOGGER}, every logic node instance (and volume frontend) that starts or
 * stops on this member, with the wall-clock millisecond: the history from which a process-cluster
 * test or {@code ferry bench-failover} checks, across member processes, that no node ever ran at
 * two members at once (the simulator's single-owner check gets the same changes in its own JVM).
 */
final class LifecycleLog {
  static final String LOGGER = "io.ferry.lifecycle";
  private static final Logger log = LoggerFactory.getLogger(LOGGER);

  private LifecycleLog() {}

  /** Logs this member's changes until its actor system terminates; several members may share a JVM. */
  static void attach(ActorSystem<?> system) {
    if (!log.isInfoEnabled()) {
      return;
    }
    String self = system.address().toString();
    AutoCloseable listening =
        NodeLifecycle.listen(
            c -> {
              if (c.address().equals(self)) {
                log.info("entity={} instance={} {} at={} epochMs={}", c.entityId(), c.instance(), c.started() ? "started" : "stopped", c.address(), c.atMillis());
              }
            });
    system.getWhenTerminated().thenRun(() -> {
      try {
        listening.close();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }
}
