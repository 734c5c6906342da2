package io.ferry.blocks;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Sends block control messages to the other site, delayed by the emulated WAN's one-way delay when
 * {@code ferry.blocks.emulate} sets one (so benchmarks and the simulator see real round trips on
 * the control path too, not only on the Aeron data path). Safe from any thread.
 */
final class ControlLink {
  private final ScheduledExecutorService timer;
  private final long delayNanos;

  /** @param timer a scheduler precise to about a millisecond (Pekko's ticks every 10 ms) */
  ControlLink(ScheduledExecutorService timer, Duration delay) {
    this.timer = timer;
    this.delayNanos = delay.toNanos();
  }

  <T> void tell(ActorRef<T> to, T message) {
    if (delayNanos == 0) {
      to.tell(message);
    } else {
      timer.schedule(() -> to.tell(message), delayNanos, TimeUnit.NANOSECONDS);
    }
  }
}
