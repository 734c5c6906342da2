package io.ferry.blocks;

import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Sends block control messages to the other site, delayed by the emulated WAN's one-way delay when
 * {@code ferry.blocks.emulate} sets one (so benchmarks and the simulator see real round trips on
 * the control path too, not only on the Aeron data path). Safe from any thread.
 */
final class ControlLink {
  private final ActorSystem<?> system;
  private final Duration delay;

  ControlLink(ActorSystem<?> system, Duration delay) {
    this.system = system;
    this.delay = delay;
  }

  <T> void tell(ActorRef<T> to, T message) {
    if (delay.isZero()) {
      to.tell(message);
    } else {
      system.scheduler().scheduleOnce(delay, () -> to.tell(message), system.executionContext());
    }
  }
}
