package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.spi.FilterReply;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class ExpectedAllocationWaitTest {

  private final LoggerContext context = new LoggerContext();
  private final ExpectedAllocationWait filter = new ExpectedAllocationWait();

  private LoggingEvent error(String logger, Throwable t) {
    Logger l = context.getLogger(logger);
    return new LoggingEvent(Logger.class.getName(), l, Level.ERROR, "ferry-logic-node: Shard [q/n] allocation failed.", t, null);
  }

  @Test
  void dropsOnlyTheCoordinatorsErrorForAShardWaitingForItsPlacedMember() {
    Throwable waiting = new CompletionException(new IllegalStateException("shard q/n is placed at pekko://ferry@127.0.0.1:1, which has no live region"));
    assertEquals(FilterReply.DENY, filter.decide(error("org.apache.pekko.cluster.sharding.DDataShardCoordinator", waiting)));
    // any other allocation failure, or the same text from another logger, is still logged
    assertEquals(FilterReply.NEUTRAL,
        filter.decide(error("org.apache.pekko.cluster.sharding.DDataShardCoordinator", new CompletionException(new IllegalStateException("replicator timed out")))));
    assertEquals(FilterReply.NEUTRAL, filter.decide(error("io.ferry.other", waiting)));
    assertEquals(FilterReply.NEUTRAL, filter.decide(error("org.apache.pekko.cluster.sharding.DDataShardCoordinator", null)));
  }
}
