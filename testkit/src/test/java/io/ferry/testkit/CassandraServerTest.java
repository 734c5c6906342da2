package io.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.ArrayDeque;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The port-pair search the Cassandra ITs start from; none of these tests starts Cassandra. */
class CassandraServerTest {

  @Test
  void theLastPortIsSkippedNotAnErrorAndATakenNextPortTriesAgain() throws IOException {
    try (ServerSocket taken = new ServerSocket(0)) {
      int busyNext = taken.getLocalPort() - 1; // its next port is the one held open here
      int free;
      try (ServerSocket probe = new ServerSocket(0)) {
        free = probe.getLocalPort();
      }
      ArrayDeque<Integer> ports = new ArrayDeque<>(List.of(65535, busyNext, free));
      int pair = CassandraServer.freePortPair(ports::pop);
      assertEquals(free, pair, "the first port whose next one is free (free's next port is taken only if another process took it meanwhile)");
      assertTrue(ports.isEmpty(), "65535 and the port before a taken one were both passed over");
    }
  }

  @Test
  void aSourceOfOnlyTheLastPortRunsOutWithAnIoException() {
    IOException e = assertThrows(IOException.class, () -> CassandraServer.freePortPair(() -> 65535));
    assertTrue(e.getMessage().contains("no two free adjacent ports"), e.getMessage());
  }

  @Test
  void aRealPairHasBothPortsFree() throws IOException {
    int port = CassandraServer.freePortPair();
    assertTrue(port > 0 && port < 65535, "port " + port);
    try (ServerSocket a = new ServerSocket(port); ServerSocket b = new ServerSocket(port + 1)) {
      assertEquals(port + 1, b.getLocalPort());
    }
  }
}
