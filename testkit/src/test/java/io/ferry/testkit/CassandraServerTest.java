package io.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
  void theOutgoingRangeIsReadFromItsFileAndDefaultsToLinuxsOwn(@TempDir Path dir) throws IOException {
    Path range = dir.resolve("ip_local_port_range");
    Files.writeString(range, "40000\t60999\n");
    assertEquals(40000, CassandraServer.ephemeralLow(range));
    Files.writeString(range, "garbage");
    assertEquals(32768, CassandraServer.ephemeralLow(range));
    assertEquals(32768, CassandraServer.ephemeralLow(dir.resolve("missing")));
  }

  @Test
  void aSourceOfOnlyTheLastPortRunsOutWithAnIoException() {
    IOException e = assertThrows(IOException.class, () -> CassandraServer.freePortPair(() -> 65535));
    assertTrue(e.getMessage().contains("no two free adjacent ports"), e.getMessage());
  }

  @Test
  void aRealPairHasBothPortsFreeAndBelowTheOutgoingConnectionsPorts() throws IOException {
    int port = CassandraServer.freePortPair();
    int ephemeralLow = CassandraServer.ephemeralLow(CassandraServer.EPHEMERAL_RANGE);
    assertTrue(port >= 1024 && port + 1 < ephemeralLow, "port " + port + ", outgoing connections from " + ephemeralLow);
    try (ServerSocket a = new ServerSocket(port); ServerSocket b = new ServerSocket(port + 1)) {
      assertEquals(port + 1, b.getLocalPort());
    }
  }
}
