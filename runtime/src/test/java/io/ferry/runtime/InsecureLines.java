package io.ferry.runtime;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Captures the "INSECURE member ..." lines members of this JVM log at start (FerryNode's logger),
 * so a test can check that a member without security settings says so and a secured one does not.
 */
final class InsecureLines implements AutoCloseable {
  private final Logger logger = (Logger) LoggerFactory.getLogger(FerryNode.class);
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

  InsecureLines() {
    appender.start();
    logger.addAppender(appender);
  }

  /** The insecure-member lines logged so far, formatted. */
  List<String> lines() {
    synchronized (appender.list) {
      return appender.list.stream().map(ILoggingEvent::getFormattedMessage).filter(m -> m.startsWith("INSECURE member")).toList();
    }
  }

  @Override
  public void close() {
    logger.detachAppender(appender);
    appender.stop();
  }
}
