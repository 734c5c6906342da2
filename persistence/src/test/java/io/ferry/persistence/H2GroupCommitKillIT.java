package io.ferry.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.Props;
import org.apache.pekko.persistence.AbstractPersistentActor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal's group commit under SIGKILL: many writers share the plugin's few transactions (the
 * member's {@code write-parallelism}), so a kill lands in the middle of a group. Every write a
 * writer saw acknowledged must survive; a write is all or nothing; and nothing beyond the writes in
 * flight at the kill may be in the journal.
 */
class H2GroupCommitKillIT {

  private static final int WRITERS = 12;
  /** Events per write ({@code persistAll}): one atomic write of several events. */
  private static final int EVENTS_PER_WRITE = 3;
  private static final int PAYLOAD_BYTES = 4_000;
  private static final int ACKS_BEFORE_KILL = 1_500;

  /** Persists writes of {@value #EVENTS_PER_WRITE} events one after another, printing each acknowledgement. */
  public static final class Writer extends AbstractPersistentActor {
    private final String id;
    private final PrintStream out;
    private long seq;

    Writer(String id, PrintStream out) {
      this.id = id;
      this.out = out;
    }

    @Override
    public String persistenceId() {
      return id;
    }

    @Override
    public Receive createReceiveRecover() {
      return receiveBuilder().matchAny(e -> {}).build();
    }

    @Override
    public Receive createReceive() {
      return receiveBuilder().matchEquals("next", m -> write()).build();
    }

    private void write() {
      List<byte[]> events = new ArrayList<>();
      for (int i = 0; i < EVENTS_PER_WRITE; i++) {
        events.add(new byte[PAYLOAD_BYTES]);
      }
      long last = seq + EVENTS_PER_WRITE;
      persistAll(events, e -> {
        seq++;
        if (seq == last) {
          synchronized (out) {
            out.println("ack " + id + " " + seq);
            out.flush();
          }
          self().tell("next", self());
        }
      });
    }
  }

  /** A member-like process: {@value #WRITERS} writers on the default H2 journal; runs until killed. */
  public static final class Member {
    public static void main(String[] args) {
      String url = H2Journal.defaultUrl(Path.of(args[0]));
      H2Journal.ensureDirectory(url);
      H2Journal.ensureSchema(url);
      Config config =
          ConfigFactory.parseString("pekko.loglevel = ERROR\npekko.stdout-loglevel = OFF\npekko.log-dead-letters = off")
              .withFallback(H2Journal.config(url, 8, 2))
              .withFallback(ConfigFactory.load());
      ActorSystem system = ActorSystem.create("group-commit", config);
      PrintStream out = System.out;
      for (int w = 0; w < WRITERS; w++) {
        String id = "writer-" + w;
        system.actorOf(Props.create(Writer.class, () -> new Writer(id, out))).tell("next", null);
      }
    }
  }

  @Test
  void acknowledgedWritesSurviveAKillMidGroupAndUnfinishedOnesAreWholeOrAbsent(@TempDir Path dir) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p =
        new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"), Member.class.getName(), dir.toString()))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    Map<String, Long> acked = new HashMap<>();
    int acks = 0;
    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      boolean killed = false;
      // Reads to the end: the acknowledgements printed between the decision to kill and the death
      // are in the pipe too, and count.
      while ((line = out.readLine()) != null) {
        String[] f = line.strip().split(" ");
        if (f.length == 3 && f[0].equals("ack")) {
          acked.merge(f[1], Long.parseLong(f[2]), Math::max);
          acks++;
        }
        if (acks >= ACKS_BEFORE_KILL && !killed) {
          // SIGKILL while all writers have writes in flight: no shutdown hook, no close.
          new ProcessBuilder("kill", "-9", Long.toString(p.pid())).start().waitFor(10, TimeUnit.SECONDS);
          killed = true;
        }
      }
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the member did not die");
    } finally {
      p.destroyForcibly();
    }
    assertTrue(acks >= ACKS_BEFORE_KILL, "the member ended after " + acks + " acknowledgements");
    Map<String, TreeSet<Long>> stored = new HashMap<>();
    try (Connection c = DriverManager.getConnection(H2Journal.defaultUrl(dir), "ferry", "");
        ResultSet rs =
            c.createStatement()
                .executeQuery("SELECT \"persistence_id\", \"sequence_number\", OCTET_LENGTH(\"event_payload\") FROM \"event_journal\"")) {
      while (rs.next()) {
        stored.computeIfAbsent(rs.getString(1), k -> new TreeSet<>()).add(rs.getLong(2));
        assertEquals(PAYLOAD_BYTES, rs.getInt(3), "an event's payload is cut short");
      }
    }
    for (int w = 0; w < WRITERS; w++) {
      String id = "writer-" + w;
      long ack = acked.getOrDefault(id, 0L);
      TreeSet<Long> seqs = stored.getOrDefault(id, new TreeSet<>());
      long max = seqs.isEmpty() ? 0 : seqs.last();
      assertTrue(max >= ack, id + ": acknowledged up to " + ack + " but the journal ends at " + max);
      assertEquals(max, seqs.size(), id + ": the journal has holes: " + seqs.size() + " events up to " + max);
      assertEquals(0, max % EVENTS_PER_WRITE, id + ": a write of " + EVENTS_PER_WRITE + " events is only partly in the journal (" + max + ")");
      // At the kill each writer had at most one write in flight: it may have committed unacknowledged.
      assertTrue(max <= ack + EVENTS_PER_WRITE, id + ": acknowledged " + ack + ", yet the journal holds " + max);
    }
  }
}
