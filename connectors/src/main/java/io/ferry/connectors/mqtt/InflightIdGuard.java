package io.ferry.connectors.mqtt;

import io.moquette.broker.Server;
import io.moquette.broker.SessionMessageQueue;
import io.moquette.broker.SessionRegistry;
import java.lang.reflect.Field;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Works around a message-losing bug of Moquette 0.17 (the version served here; 0.18 allocates ids
 * the same way) so that the embedded broker keeps every un-PUBACKed QoS-1 message of a resumed
 * persistent session.
 *
 * <p>The bug: a session's in-flight window ({@code Session.inflightWindow}, packet id → message)
 * survives a reconnect, but packet ids come from a counter of the TCP connection
 * ({@code MQTTConnection.lastPacketId}, from 0 on every connection). When a resumed session's new
 * connection hands out an id still held by a message the previous connection sent and nobody
 * PUBACKed, {@code inflightWindow.put} replaces that message and Moquette releases it: it is never
 * sent again, although the subscriber never acknowledged it (MQTT 3.1.1 §2.3.1 requires an unused
 * id). A Ferry source whose member died with messages in flight, restarted twice in quick
 * succession or quickly acknowledging what was queued while it was away, lost up to the window (10
 * messages) this way.
 *
 * <p>The guard: each session's window becomes a map that, when an id is reused while its message is
 * still in flight, puts the older message back on the session's queue (it is then sent again under
 * a fresh id) instead of letting Moquette drop it, and gives back the in-flight slot the older
 * message held. Installed through reflection on Moquette 0.17's private fields, right after the
 * broker starts and before sessions exist, by wrapping the session registry's pool so every new
 * session is guarded before it sends anything. If the fields are not there (another Moquette
 * version), starting the broker fails rather than running unguarded.
 */
final class InflightIdGuard {
  private static final Logger log = LoggerFactory.getLogger(InflightIdGuard.class);

  private final AtomicLong requeued = new AtomicLong();

  private InflightIdGuard() {}

  /** Guards every session {@code server} creates from now on. */
  static InflightIdGuard install(Server server) {
    InflightIdGuard guard = new InflightIdGuard();
    try {
      Object registry = field(Server.class, "sessions").get(server);
      Field poolField = field(SessionRegistry.class, "pool");
      @SuppressWarnings("unchecked")
      Map<String, Object> old = (Map<String, Object>) poolField.get(registry);
      if (!old.isEmpty()) {
        throw new IllegalStateException("sessions exist before the guard: " + old.keySet());
      }
      Class<?> session = Class.forName("io.moquette.broker.Session");
      Field window = field(session, "inflightWindow");
      Field slots = field(session, "inflightSlots");
      Field queue = field(session, "sessionQueue");
      poolField.set(registry, new ConcurrentHashMap<String, Object>() {
        @Override
        public Object put(String clientId, Object s) {
          guard.protect(s, window, slots, queue);
          return super.put(clientId, s);
        }
      });
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException("embedded MQTT broker: cannot guard Moquette's in-flight windows (not Moquette 0.17?)", e);
    }
    return guard;
  }

  /** Messages put back on their session's queue because their packet id was handed out again. */
  long requeued() {
    return requeued.get();
  }

  private void protect(Object session, Field window, Field slots, Field queue) {
    try {
      if (window.get(session) instanceof Window) {
        return; // a rehydrated or re-put session, already guarded
      }
      @SuppressWarnings("unchecked")
      Map<Integer, SessionRegistry.EnqueuedMessage> current = (Map<Integer, SessionRegistry.EnqueuedMessage>) window.get(session);
      @SuppressWarnings("unchecked")
      SessionMessageQueue<SessionRegistry.EnqueuedMessage> q = (SessionMessageQueue<SessionRegistry.EnqueuedMessage>) queue.get(session);
      Window w = new Window((AtomicInteger) slots.get(session), q);
      w.putAll(current); // empty: the session has not sent anything yet
      window.set(session, w);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Field field(Class<?> owner, String name) throws NoSuchFieldException {
    Field f = owner.getDeclaredField(name);
    f.setAccessible(true);
    return f;
  }

  /**
   * A session's in-flight window that never lets a reused packet id drop an un-PUBACKed message.
   * Synchronized because Moquette 0.17 resends from the connection's Netty thread while the
   * session's own loop sends and takes PUBACKs.
   */
  private final class Window extends HashMap<Integer, SessionRegistry.EnqueuedMessage> {
    private final AtomicInteger slots;
    private final SessionMessageQueue<SessionRegistry.EnqueuedMessage> queue;

    Window(AtomicInteger slots, SessionMessageQueue<SessionRegistry.EnqueuedMessage> queue) {
      this.slots = slots;
      this.queue = queue;
    }

    @Override
    public synchronized SessionRegistry.EnqueuedMessage put(Integer packetId, SessionRegistry.EnqueuedMessage message) {
      SessionRegistry.EnqueuedMessage older = super.put(packetId, message);
      if (older instanceof SessionRegistry.PublishedMessage p) {
        // Moquette would release it and free its slot; instead it goes back to the queue, still
        // holding the reference the window held, and its slot is freed here
        queue.enqueue(p);
        slots.incrementAndGet();
        long n = requeued.incrementAndGet();
        log.warn("embedded MQTT broker: packet id {} handed out again while its message was in flight; the message is queued again ({} so far)",
            packetId, n);
        return null;
      }
      return older;
    }

    @Override
    public synchronized SessionRegistry.EnqueuedMessage get(Object packetId) {
      return super.get(packetId);
    }

    @Override
    public synchronized SessionRegistry.EnqueuedMessage remove(Object packetId) {
      return super.remove(packetId);
    }
  }
}
