package io.ferry.cli;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import io.ferry.query.node.PlacedShardAllocation;

/**
 * Drops the shard coordinator's ERROR (with its stack trace) for an allocation that waited for a
 * shard's placed member to have a live region: an expected state while a member is down or leaving
 * (at every demo's end, after every crash), which {@link PlacedShardAllocation} already reports as
 * one WARN line. Any other allocation failure is logged as before.
 */
public final class ExpectedAllocationWait extends Filter<ILoggingEvent> {

  private static final String COORDINATOR = "org.apache.pekko.cluster.sharding.DDataShardCoordinator";

  @Override
  public FilterReply decide(ILoggingEvent event) {
    if (!COORDINATOR.equals(event.getLoggerName())) {
      return FilterReply.NEUTRAL;
    }
    for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
      String m = t.getMessage();
      if (m != null && m.endsWith(PlacedShardAllocation.NO_LIVE_REGION)) {
        return FilterReply.DENY;
      }
    }
    return FilterReply.NEUTRAL;
  }
}
