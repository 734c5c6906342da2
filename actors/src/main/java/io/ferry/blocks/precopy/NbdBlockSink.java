package io.ferry.blocks.precopy;

import io.ferry.transport.nbd.NbdClient;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * A target reached over NBD (the target site's export) with a few connections, so several writes
 * are on a long link at once: one {@link NbdClient} has one request on the wire at a time. The
 * export must allow several connections (a flush on one covers the others).
 */
public final class NbdBlockSink implements BlockSink {

  public static final int CONNECTIONS_MAX = 64;

  private final List<NbdClient> all = new ArrayList<>();
  private final BlockingQueue<NbdClient> idle;

  public NbdBlockSink(String host, int port, String export, int connections, Duration timeout) throws IOException {
    if (connections < 1 || connections > CONNECTIONS_MAX) {
      throw new IllegalArgumentException("1.." + CONNECTIONS_MAX + " connections, got " + connections);
    }
    idle = new ArrayBlockingQueue<>(connections);
    try {
      for (int i = 0; i < connections; i++) {
        NbdClient c = NbdClient.connect(host, port, export, timeout);
        all.add(c);
        idle.add(c);
      }
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  public long sizeBytes() {
    return all.get(0).sizeBytes();
  }

  @Override
  public void write(long offset, byte[] data, int length) throws IOException {
    NbdClient c = take();
    try {
      c.write(offset, length == data.length ? data : java.util.Arrays.copyOf(data, length));
    } finally {
      idle.add(c);
    }
  }

  @Override
  public void flush() throws IOException {
    NbdClient c = take();
    try {
      c.flush();
    } finally {
      idle.add(c);
    }
  }

  private NbdClient take() throws IOException {
    try {
      return idle.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted waiting for a connection to the target", e);
    }
  }

  @Override
  public void close() {
    for (NbdClient c : all) {
      c.close();
    }
  }
}
