package io.ferry.simulator.protocol;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The simulated network between node instances, the sink reader and the placement manager: every message takes a random
 * delay in [delayMin, delayMax] (so messages overtake each other), is dropped with probability
 * {@code pDrop} and delivered twice with probability {@code pDup} until the faults heal. A message
 * whose receiver is not running when it arrives is lost, as in a shard hand-off.
 */
final class SimNetwork {

  /** Where a message goes: a node (whatever instance runs it then), one instance, or the reader. */
  sealed interface Address {
    String describe();
  }

  record ToNode(String node) implements Address {
    public String describe() {
      return node;
    }
  }

  record ToInstance(String instance) implements Address {
    public String describe() {
      return instance;
    }
  }

  record ToReader() implements Address {
    public String describe() {
      return "reader";
    }
  }

  /** The placement manager (whichever incarnation runs when the message arrives). */
  record ToManager() implements Address {
    public String describe() {
      return "manager";
    }
  }

  private final Scheduler scheduler;
  private final SimRandom random;
  private final Function<Address, Optional<Consumer<Message>>> resolve;
  private final double pDrop;
  private final double pDup;
  private final long delayMinMicros;
  private final long delayMaxMicros;
  private boolean healed;
  private long sent;
  private long dropped;
  private long duplicated;
  private long undeliverable;
  /** Per sender → receiver pair, when its last control message arrives: control keeps FIFO order. */
  private final Map<String, Long> controlLastAtMicros = new HashMap<>();

  SimNetwork(
      Scheduler scheduler,
      SimRandom random,
      Function<Address, Optional<Consumer<Message>>> resolve,
      double pDrop,
      double pDup,
      long delayMinMicros,
      long delayMaxMicros) {
    this.scheduler = scheduler;
    this.random = random;
    this.resolve = resolve;
    this.pDrop = pDrop;
    this.pDup = pDup;
    this.delayMinMicros = delayMinMicros;
    this.delayMaxMicros = delayMaxMicros;
  }

  /** From now on no message is dropped or duplicated; delays (and so reordering) stay. */
  void heal() {
    healed = true;
  }

  void send(String from, Address to, Message message) {
    sent++;
    if (!healed && random.chance(pDrop)) {
      dropped++;
      return;
    }
    int copies = !healed && random.chance(pDup) ? 2 : 1;
    if (copies == 2) {
      duplicated++;
    }
    for (int i = 0; i < copies; i++) {
      long delay = random.between(delayMinMicros, delayMaxMicros);
      scheduler.after(delay, to.describe(), "deliver", from + "->" + message.describe(), () -> deliver(to, message));
    }
  }

  /**
   * Sends a move-protocol message as Pekko remoting carries one between two actors: delayed, lost
   * until the heal, never duplicated, and never overtaking an earlier message of the same pair.
   */
  void sendControl(String from, Address to, Message message) {
    sent++;
    if (!healed && random.chance(pDrop)) {
      dropped++;
      return;
    }
    String pair = from + "->" + to.describe();
    long at = Math.max(scheduler.nowMicros() + random.between(delayMinMicros, delayMaxMicros), controlLastAtMicros.getOrDefault(pair, 0L));
    controlLastAtMicros.put(pair, at);
    scheduler.after(at - scheduler.nowMicros(), to.describe(), "deliver", from + "->" + message.describe(), () -> deliver(to, message));
  }

  /**
   * Delivers {@code message} after exactly {@code delayMicros}, whatever the faults: a message a
   * dead member left in flight (a remoting buffer, a TCP segment) that lands after its successor's.
   */
  void sendLate(String from, Address to, Message message, long delayMicros) {
    sent++;
    scheduler.after(delayMicros, to.describe(), "deliver-late", from + "->" + message.describe(), () -> deliver(to, message));
  }

  private void deliver(Address to, Message message) {
    Optional<Consumer<Message>> inbox = resolve.apply(to);
    if (inbox.isEmpty()) {
      undeliverable++;
      return;
    }
    inbox.get().accept(message);
  }

  long sent() {
    return sent;
  }

  long dropped() {
    return dropped;
  }

  long duplicated() {
    return duplicated;
  }

  long undeliverable() {
    return undeliverable;
  }
}
