package io.ferry.cli;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.OutputStream;
import java.io.PrintStream;

/**
 * Writes log lines to the stdout the test runner gave this JVM, taken when logging starts. Logback's
 * {@code ConsoleAppender} looks {@code System.out} up at every write, so while {@link CliRun} has swapped it the
 * in-process cluster's log lines would land in a command's captured output (a CI run failed on exactly that).
 */
public final class TestRunnerStdoutAppender extends OutputStreamAppender<ILoggingEvent> {

  @Override
  public void start() {
    PrintStream runner = System.out;
    setOutputStream(new OutputStream() {
      @Override
      public void write(int b) {
        runner.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        runner.write(b, off, len);
      }

      @Override
      public void flush() {
        runner.flush();
      }
    });
    super.start();
  }
}
