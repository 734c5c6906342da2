package io.ferry.simulator.protocol;

import io.ferry.query.Row;
import io.ferry.simulator.protocol.Message.Read;
import io.ferry.simulator.protocol.Message.SinkRows;
import io.ferry.simulator.report.RunReport;
import java.util.ArrayList;
import java.util.List;

/**
 * The application reading an in-cluster sink with {@code Ferry.read(after, max)}: it keeps its own
 * anchor, takes a reply only when it starts there, and asks again after a timeout. It never
 * crashes; what it has read is the sink's delivered output.
 */
final class SimReader {
  private static final long THROUGHPUT_BUCKET_MICROS = 100_000;

  private final Scheduler scheduler;
  private final SimNetwork network;
  private final String sink;
  private final int max;
  private final long pollMicros;
  private final long timeoutMicros;
  private final List<Row> rows = new ArrayList<>();
  private final List<RunReport.Point> throughput = new ArrayList<>();
  private long anchor;
  private boolean done;
  private long doneAtMicros = -1;
  private long sentAtMicros = -1;
  private long gaps;

  SimReader(Scheduler scheduler, SimNetwork network, String sink, int max, long pollMicros, long timeoutMicros) {
    this.scheduler = scheduler;
    this.network = network;
    this.sink = sink;
    this.max = max;
    this.pollMicros = pollMicros;
    this.timeoutMicros = timeoutMicros;
  }

  void start() {
    scheduler.after(pollMicros, "reader", "poll", "", this::poll);
  }

  private void poll() {
    if (done) {
      return;
    }
    if (sentAtMicros < 0 || scheduler.nowMicros() - sentAtMicros > timeoutMicros) {
      read();
    }
    scheduler.after(pollMicros, "reader", "poll", "", this::poll);
  }

  private void read() {
    sentAtMicros = scheduler.nowMicros();
    network.send("reader", new SimNetwork.ToNode(sink), new Read(anchor, max));
  }

  void receive(Message m) {
    if (!(m instanceof SinkRows r) || done || r.from() != anchor) {
      return; // a repeated or stale reply
    }
    sentAtMicros = -1;
    if (r.gap()) {
      gaps++;
      return;
    }
    rows.addAll(r.rows());
    anchor = r.next();
    if (!r.rows().isEmpty()) {
      point();
      read();
    }
    if (r.done()) {
      done = true;
      doneAtMicros = scheduler.nowMicros();
    }
  }

  private void point() {
    long bucketMillis = scheduler.nowMicros() / THROUGHPUT_BUCKET_MICROS * THROUGHPUT_BUCKET_MICROS / 1000;
    if (!throughput.isEmpty() && throughput.get(throughput.size() - 1).atMillis() == bucketMillis) {
      throughput.remove(throughput.size() - 1);
    }
    throughput.add(new RunReport.Point(bucketMillis, rows.size()));
  }

  /** The reader's anchor: every row before it has been read and kept. */
  long anchor() {
    return anchor;
  }

  List<Row> rows() {
    return rows;
  }

  List<RunReport.Point> throughput() {
    return throughput;
  }

  boolean done() {
    return done;
  }

  long doneAtMicros() {
    return doneAtMicros;
  }

  long gaps() {
    return gaps;
  }
}
