package io.ferry.query.node;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Where logic node instances (and volume frontends, as {@code volume-frontend|<volume>}) start and
 * stop, for observers in the same JVM: the simulator's single-owner checker records every interval
 * in which an instance ran and checks that no two of one node overlap. Listeners must be quick and must not throw; with none registered this costs
 * nothing.
 */
public final class NodeLifecycle {

  /** An instance of {@code entityId} (identified by {@code instance}) started or stopped at {@code address}. */
  public record Change(String entityId, String instance, String address, boolean started, long atMillis) {}

  private static final CopyOnWriteArrayList<Consumer<Change>> LISTENERS = new CopyOnWriteArrayList<>();

  private NodeLifecycle() {}

  public static AutoCloseable listen(Consumer<Change> listener) {
    LISTENERS.add(listener);
    return () -> LISTENERS.remove(listener);
  }

  public static void publish(String entityId, String instance, String address, boolean started) {
    if (LISTENERS.isEmpty()) {
      return;
    }
    Change c = new Change(entityId, instance, address, started, System.currentTimeMillis());
    for (Consumer<Change> l : LISTENERS) {
      l.accept(c);
    }
  }
}
