package io.ferry.simulator.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportWriterTest {

  @TempDir Path dir;

  @Test
  void failingCheckerRendersFailAndTheSeed() throws IOException {
    ReportWriter.Written written = ReportWriter.write(SampleReports.failing(), dir);

    assertEquals("report-partition-during-move-" + SampleReports.SEED + ".html",
        written.html().getFileName().toString());
    String html = Files.readString(written.html());
    assertTrue(html.contains("<div class=\"verdict\">FAIL</div>"), "verdict must be FAIL");
    assertFalse(html.contains(">PASS<"), "a failing run must not say PASS anywhere");
    assertTrue(html.contains("<header class=\"fail\">"), "the header must be coloured as a failure");
    assertTrue(html.contains(String.valueOf(SampleReports.SEED)), "the seed must be on the page");
    assertTrue(html.contains("<pre class=\"replay\"><code>mvn -q -pl simulator exec:java -Dferry.sim.seed="),
        "the replay command must be in a <code>");
    assertTrue(html.contains("<td>crash</td><td class=\"n\">0.005</td>"), "probabilities as set, not padded");
  }

  @Test
  void passingRunRendersPass() throws IOException {
    String html = Files.readString(ReportWriter.write(SampleReports.quiet(), dir).html());
    assertTrue(html.contains("<div class=\"verdict\">PASS</div>"));
    assertTrue(html.contains("<header class=\"pass\">"));
  }

  @Test
  void everyReportStringIsEscaped() throws IOException {
    String html = Files.readString(ReportWriter.write(SampleReports.failing(), dir).html());

    assertFalse(html.contains("<script"), "a fault detail must not become a script element");
    assertFalse(html.contains("<anchor"), "a checker detail must not become an element");
    assertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"),
        "the detail must appear escaped in the event table and the fault mark's tooltip");
    assertTrue(html.contains("edge-0&lt;-&gt;cloud"));
    assertTrue(html.contains("lost 12 rows (&lt;anchor 1200&gt;)"));
  }

  @Test
  void hostileScenarioNameIsEscapedAndKeptOutOfTheFileName() throws IOException {
    RunReport quiet = SampleReports.quiet();
    RunReport hostile = new RunReport("../<b>x</b>", quiet.tier(), quiet.seed(), "a && b < c", quiet.durationMillis(),
        quiet.faultProbabilities(), quiet.faults(), quiet.operations(), quiet.sinks(), quiet.doubleOwners(),
        quiet.migrationPausesMillis(), quiet.bytesPerLink(), quiet.throughput(), quiet.checkers(), quiet.traceHash());

    ReportWriter.Written written = ReportWriter.write(hostile, dir);

    assertEquals(dir, written.html().getParent(), "the page must stay in the report directory");
    assertEquals("report-..__b_x__b_-7.html", written.html().getFileName().toString());
    String html = Files.readString(written.html());
    assertTrue(html.contains("<h1>../&lt;b&gt;x&lt;/b&gt;</h1>"));
    assertTrue(html.contains("<code>a &amp;&amp; b &lt; c</code>"));
  }

  @Test
  void jsonRoundTripsToAnEqualReport() throws IOException {
    RunReport report = SampleReports.failing();
    ReportWriter.Written written = ReportWriter.write(report, dir);

    assertEquals("report-partition-during-move-" + SampleReports.SEED + ".json",
        written.json().getFileName().toString());
    assertEquals(report, ReportWriter.read(written.json()));
    assertEquals(SampleReports.quiet(), ReportWriter.read(ReportWriter.write(SampleReports.quiet(), dir).json()));
  }

  @Test
  void jsonIsTheSameForTheSameReport() throws IOException {
    Path a = ReportWriter.write(SampleReports.failing(), dir.resolve("a")).json();
    Path b = ReportWriter.write(SampleReports.failing(), dir.resolve("b")).json();
    assertEquals(Files.readString(a), Files.readString(b));
  }

  @Test
  void pageIsSelfContainedWithThreePlotsAndTheLinkBars() throws IOException {
    String html = Files.readString(ReportWriter.write(SampleReports.failing(), dir).html());

    assertFalse(html.contains("http://"), "the page must not reference anything over the network");
    assertFalse(html.contains("https://"), "the page must not reference anything over the network");
    assertFalse(html.contains(" src="), "the page must not load anything");
    assertEquals(4, count(html, "<svg"), "throughput, pauses, fault timeline and bytes per link");
    assertTrue(html.contains("aria-label=\"rows delivered to the sinks over time\""));
    assertTrue(html.contains("aria-label=\"how long each migration paused its nodes\""));
    assertTrue(html.contains("aria-label=\"faults injected over time, one lane per kind\""));
    assertTrue(html.contains("<polyline"), "throughput is a line");
    assertEquals(5, count(html, "<title>move "), "one bar per migration");
    assertEquals(41, count(html, "<circle cx") - 1, "one mark per fault, plus the line's end point");
  }

  @Test
  void faultTimelineHasOneColourPerKindAndALegend() throws IOException {
    String html = Files.readString(ReportWriter.write(SampleReports.failing(), dir).html());
    String timeline = html.substring(html.indexOf("aria-label=\"faults injected"));
    timeline = timeline.substring(0, timeline.indexOf("</svg>"));

    for (String kind : List.of("clock-skew", "crash", "partition", "slow-disk")) {
      Matcher legend = Pattern.compile(Pattern.quote(kind) + " \\((\\d+)\\)</text>").matcher(timeline);
      assertTrue(legend.find(), "legend entry for " + kind);
    }
    assertEquals(4, Pattern.compile("<circle [^>]*fill=\"(#[0-9A-F]{6})\"").matcher(timeline).results()
        .map(m -> m.group(1)).distinct().count(), "four kinds, four colours");
  }

  @Test
  void emptySeriesRenderNotes() throws IOException {
    String html = Files.readString(ReportWriter.write(SampleReports.quiet(), dir).html());

    assertTrue(html.contains("no migrations in this run"));
    assertTrue(html.contains("no throughput samples in this run"));
    assertTrue(html.contains("no faults injected in this run"));
    assertTrue(html.contains("no per-link byte counts in this run"));
    assertTrue(html.contains("no sinks in this run"));
    assertEquals(0, count(html, "<svg"));
  }

  @Test
  void missingFieldsRenderAsEmpty() throws IOException {
    RunReport sparse = new RunReport("sparse", null, 1, null, 0, null, null, null, null, 0, null, null, null, null, null);
    String html = Files.readString(ReportWriter.write(sparse, dir).html());
    assertTrue(html.contains("no checkers ran in this run"));
    assertTrue(html.contains("no migrations in this run"));
  }

  @Test
  void summaryListsEveryRunFailedFirstAndLinksItsPage() throws IOException {
    ReportWriter.Written written = ReportWriter.summary(List.of(SampleReports.quiet(), SampleReports.failing()), dir);

    assertEquals(dir.resolve("index.html"), written.html());
    assertEquals(dir.resolve("summary.json"), written.json());
    String index = Files.readString(written.html());
    assertTrue(index.contains("<div class=\"verdict\">FAIL</div>"), "one failed run fails the summary");
    int failing = index.indexOf("href=\"report-partition-during-move-" + SampleReports.SEED + ".html\"");
    int passing = index.indexOf("href=\"report-idle-7.html\"");
    assertTrue(failing > 0 && passing > failing, "failed runs come first");
    assertTrue(index.contains("once-only, single-owner"), "the failed checkers are named");
    assertTrue(Files.exists(dir.resolve("report-idle-7.html")), "linked pages exist");
    assertTrue(Files.exists(dir.resolve("report-partition-during-move-" + SampleReports.SEED + ".json")));
    assertFalse(index.contains("http://") || index.contains("https://"));
    String json = Files.readString(written.json());
    assertTrue(json.contains("\"runs\" : 2") && json.contains("\"failed\" : 1"), json);
  }

  @Test
  void summaryRefusesTwoRunsThatWouldShareAPage() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ReportWriter.summary(List.of(SampleReports.quiet(), SampleReports.quiet()), dir));
    assertTrue(e.getMessage().contains("scenario=idle seed=7"), e.getMessage());
  }

  private static int count(String text, String part) {
    int n = 0;
    for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
      n++;
    }
    return n;
  }
}
