package io.ferry.simulator.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Renders a sample report page in headless Chromium through {@code scripts/render-report}, as a
 * person would open it. Needs Chromium: CI installs it; this test fails, never skips, without it.
 * The page, screenshot and DOM stay in {@code simulator/target/report-render/} to look at.
 */
class ReportRenderIT {

  /** Smallest screenshot taken as a real page; a blank 1200x1600 page compresses to a few KiB. */
  private static final long SCREENSHOT_BYTES_MIN = 10 * 1024;
  /** Two Chromium runs; each is limited to 60 s by the script itself. */
  private static final long RENDER_TIMEOUT_SECONDS = 180;

  private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  @Test
  void samplePageRendersWithItsPlots() throws Exception {
    Path chromium = Path.of(System.getenv().getOrDefault("FERRY_CHROMIUM", "/usr/bin/chromium"));
    if (!Files.isExecutable(chromium)) {
      fail("Chromium is needed to render the report page and is not at " + chromium
          + ": install it with `apt-get install -y chromium` (CI installs it), or set FERRY_CHROMIUM");
    }
    Path repo = repoRoot();
    Path out = repo.resolve("simulator/target/report-render");
    Files.createDirectories(out);
    Path page = ReportWriter.write(SampleReports.failing(), out).html();
    Path png = out.resolve("report.png");
    Path dom = out.resolve("report.dom.html");
    Path log = out.resolve("render-report.log");
    Files.deleteIfExists(png);
    Files.deleteIfExists(dom);

    Process render = new ProcessBuilder(repo.resolve("scripts/render-report").toString(),
        page.toString(), png.toString(), dom.toString())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    if (!render.waitFor(RENDER_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      render.destroyForcibly();
      fail("render-report still running after " + RENDER_TIMEOUT_SECONDS + " s; its output:\n" + Files.readString(log));
    }
    String output = Files.readString(log);
    assertEquals(0, render.exitValue(), "render-report failed:\n" + output);

    assertTrue(Files.exists(png), "no screenshot; render-report said:\n" + output);
    byte[] head = Arrays.copyOf(Files.readAllBytes(png), PNG_SIGNATURE.length);
    assertArrayEquals(PNG_SIGNATURE, head, "the screenshot is not a PNG");
    long size = Files.size(png);
    assertTrue(size > SCREENSHOT_BYTES_MIN, "screenshot is " + size + " bytes: the page rendered (nearly) blank");

    String rendered = Files.readString(dom);
    assertEquals(4, rendered.split("<svg", -1).length - 1,
        "the rendered DOM must hold the four plots (throughput, pauses, fault timeline, bytes per link)");
    assertTrue(rendered.contains("<div class=\"verdict\">FAIL</div>"), "the verdict survives rendering");
    assertTrue(rendered.contains("&lt;script&gt;alert"), "escaped text stays text after rendering");
  }

  /** The checkout's root: failsafe runs in the module directory, an IDE may run at the root. */
  private static Path repoRoot() throws IOException {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("scripts/render-report"))) {
        return dir;
      }
    }
    throw new IOException("no scripts/render-report above " + Path.of("").toAbsolutePath());
  }
}
