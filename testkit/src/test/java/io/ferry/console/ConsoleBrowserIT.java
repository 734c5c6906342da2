package io.ferry.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.QueryInfo;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import io.ferry.placement.Tier;
import io.ferry.testkit.SampleQuery;
import io.ferry.testkit.TestCluster;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console in headless Chromium, driven through chromedriver (Debian's chromium and
 * chromium-driver packages, which .ci/run installs), against a three-site cluster in this JVM: the
 * topology shows every node at the site the API says; a volume's progress advances; a move started
 * with the console's button completes and the page shows the node at its new site without a
 * reload; the page logs no error and throws no exception.
 */
@ExtendWith(SeedExtension.class)
class ConsoleBrowserIT {

  /** Long enough for a snapshot to show a change on a loaded machine; each wait ends as soon as it holds. */
  private static final Duration WAIT = Duration.ofSeconds(40);
  /** The volume: 12 MiB of random blocks over a 12 Mbit link copy in about 8 s, long enough to watch it advance. */
  private static final int VOLUME_BYTES = 12 << 20;

  @TempDir Path dir;

  private static Path executable(String env, String fallback, String apt) {
    Path p = Path.of(System.getenv().getOrDefault(env, fallback));
    if (!Files.isExecutable(p)) {
      String why = p + " is missing: install it with `apt-get install -y " + apt + "` (.ci/run does) or set " + env;
      if ("true".equals(System.getenv("CI"))) {
        fail("the console's browser test needs " + why);
      }
      Assumptions.abort("skipped: the console's browser test needs " + why);
    }
    return p;
  }

  private static ChromeDriver browser(Path chromium, Path chromedriver) {
    ChromeOptions options = new ChromeOptions();
    options.setBinary(chromium.toFile());
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000");
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(chromedriver.toFile()).usingAnyFreePort().build();
    return new ChromeDriver(service, options);
  }

  @Test
  void theConsoleShowsTheClusterLiveAndMovesANode(Seed seed) throws Exception {
    Path chromium = executable("FERRY_CHROMIUM", "/usr/bin/chromium", "chromium");
    Path chromedriver = executable("FERRY_CHROMEDRIVER", "/usr/bin/chromedriver", "chromium-driver");
    Path image = dir.resolve("vol.img");
    byte[] bytes = new byte[VOLUME_BYTES];
    seed.random().nextBytes(bytes);
    Files.write(image, bytes);

    try (TestCluster cluster =
        TestCluster.builder(dir.resolve("data"))
            .site("cloud", Tier.CLOUD)
            .site("edge-a", Tier.EDGE)
            .site("edge-b", Tier.EDGE)
            .config(ConfigFactory.parseString("ferry.console.clients-max = 2\nferry.blocks.emulate { one-way-delay = 2ms, bandwidth = \"12 Mbit\" }\nferry.blocks.link { rtt = 4ms, bandwidth = \"12 Mbit\" }"))
            .start()) {
      Deployment deployment = cluster.deploy(SampleQuery.graph(SampleQuery.QUERY, -1, 200, null), SampleQuery.placement(false));
      String query = deployment.query().value();
      // Any member's console shows the whole cluster: open an edge member's.
      String url = cluster.member("edge-b").httpUrl().orElseThrow();
      WebDriver driver = browser(chromium, chromedriver);
      try {
        driver.get(url + "/");
        WebDriverWait wait = new WebDriverWait(driver, WAIT);
        wait.ignoring(StaleElementReferenceException.class); // the page redraws every second
        JavascriptExecutor js = (JavascriptExecutor) driver;
        js.executeScript("window.ferryNotReloaded = true;");

        // Topology: every node at the site the API says, in the table and in the drawn graph.
        Map<String, String> sites = sitesByApi(cluster, query);
        assertEquals(9, sites.size(), sites::toString);
        wait.until(d -> d.findElements(By.cssSelector("tr[data-query='" + query + "']")).size() == sites.size());
        assertEquals(sites, shownSites(js, "#queries tr[data-query='" + query + "']", "td.site"), "sites in the node table");
        assertEquals(sites, shownSites(js, "#queries g[data-node]", null), "sites in the drawn graph");
        assertEquals(List.of("cloud", "edge-a", "edge-b"), js.executeScript("return Array.from(document.querySelectorAll('#sites article')).map(e => e.dataset.site);"));
        wait.until(d -> js.executeScript("const r = document.querySelector(\"tr[data-node='src-a'] td:nth-of-type(7)\"); return r !== null && r.textContent !== '–';"));

        streamsAreBounded(url);

        // Keyboard: arrow keys move between the views.
        WebElement topologyTab = driver.findElement(By.id("tab-topology"));
        topologyTab.sendKeys(Keys.ARROW_RIGHT);
        assertEquals("true", driver.findElement(By.id("tab-moves")).getAttribute("aria-selected"));
        assertEquals("tab-moves", driver.switchTo().activeElement().getAttribute("id"));
        assertTrue(driver.findElement(By.id("view-moves")).isDisplayed());

        // Volumes: started now, its progress advances in the open page.
        cluster.ferry().startVolume(new VolumeSpec(new VolumeId("vol1"), "edge-a", image.toString(), "cloud", 64 * 1024, "")).toCompletableFuture().get(20, TimeUnit.SECONDS);
        driver.findElement(By.id("tab-volumes")).click();
        double first = wait.until(d -> {
          double p = percent(js);
          return p > 0 ? p : null;
        });
        assertTrue(first < 100, "the copy was watched from before its end: " + first + " %");
        wait.until(d -> percent(js) > first);
        wait.until(d -> percent(js) == 100.0);

        // Move: window-a to the cloud with the console's button; the page shows it there without a reload.
        driver.findElement(By.id("tab-moves")).click();
        new Select(driver.findElement(By.id("move-query"))).selectByValue(query);
        new Select(driver.findElement(By.id("move-node"))).selectByValue("window-a");
        new Select(driver.findElement(By.id("move-site"))).selectByValue("cloud");
        driver.findElement(By.id("move-button")).click();
        wait.until(d -> d.findElement(By.id("move-result")).getText().contains("COMPLETED"));
        wait.until(d -> !d.findElements(By.cssSelector("#migrations tr[data-outcome='COMPLETED']")).isEmpty());
        assertEquals("cloud", sitesByApi(cluster, query).get("window-a"), "the API says the node moved");
        driver.findElement(By.id("tab-topology")).click();
        wait.until(d -> "cloud".equals(shownSites(js, "#queries tr[data-query='" + query + "']", "td.site").get("window-a")));
        assertEquals("cloud", shownSites(js, "#queries g[data-node]", null).get("window-a"));
        assertEquals(Boolean.TRUE, js.executeScript("return window.ferryNotReloaded === true;"), "the page updated without a reload");

        // The move is marked on the plots, which have their text alternative.
        driver.findElement(By.id("tab-throughput")).click();
        wait.until(d -> !d.findElements(By.cssSelector("#plots line.move")).isEmpty());
        assertFalse(driver.findElements(By.cssSelector("#plots svg[role=img][aria-label]")).isEmpty());
        assertFalse(driver.findElements(By.cssSelector("#plots details table")).isEmpty());
        // A keyboard user opens a plot's table; the next redraw keeps it open and keeps the focus on it.
        // Focus and key press go to whatever element has the focus, as a keyboard's would: the page
        // redraws every second, and an element reference taken before a redraw is stale after it.
        String focusedKey = (String) js.executeScript("document.querySelector('#plots summary').focus(); return document.activeElement.dataset.key;");
        new Actions(driver).sendKeys(Keys.ENTER).perform();
        String drawnAt = driver.findElement(By.id("served-by")).getText();
        wait.until(d -> !d.findElement(By.id("served-by")).getText().equals(drawnAt));
        assertEquals(focusedKey, js.executeScript("return document.activeElement.dataset.key;"), "the focus survives a redraw");
        assertEquals(Boolean.TRUE, js.executeScript("return document.activeElement.parentElement.open;"), "the opened table stays open");

        // Jobs answer or say they are not on this build; nothing failed to read.
        driver.findElement(By.id("tab-jobs")).click();
        wait.until(d -> !d.findElement(By.id("jobs")).getText().isEmpty());
        assertFalse(driver.findElement(By.id("jobs")).getText().contains("could not be read"), driver.findElement(By.id("jobs")).getText());

        assertEquals(List.of(), errors(driver), "the page logged errors");
      } finally {
        driver.quit();
      }
    }
  }

  /** vol1's percent present as the page shows it, 0 before its row appears; read in one script, as the page redraws every second. */
  private static double percent(JavascriptExecutor js) {
    Object p = js.executeScript("const r = document.querySelector(\"tr[data-volume='vol1']\"); return r === null ? '0' : r.dataset.percent;");
    return Double.parseDouble(String.valueOf(p));
  }

  /** Node → site as the page shows it: {@code siteCell} of each row, or the element's own data-site. */
  @SuppressWarnings("unchecked")
  private static Map<String, String> shownSites(JavascriptExecutor js, String rows, String siteCell) {
    return (Map<String, String>)
        js.executeScript(
            "const out = {}; for (const e of document.querySelectorAll(arguments[0])) {"
                + " out[e.dataset.node] = arguments[1] ? e.querySelector(arguments[1]).textContent : e.dataset.site; } return out;",
            rows,
            siteCell);
  }

  /**
   * The event stream as any client reads it: one snapshot event a second with the whole cluster;
   * with the page's stream and this one open, a third client is refused (clients-max = 2).
   */
  private static void streamsAreBounded(String url) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest events = HttpRequest.newBuilder(URI.create(url + "/events")).timeout(Duration.ofSeconds(20)).build();
    HttpResponse<java.io.InputStream> open = http.send(events, HttpResponse.BodyHandlers.ofInputStream());
    try (BufferedReader in = new BufferedReader(new InputStreamReader(open.body(), StandardCharsets.UTF_8))) {
      assertEquals(200, open.statusCode());
      assertTrue(open.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"), open.headers()::toString);
      // One event: its lines up to a blank one, "field:value" each (the order of fields is free).
      Map<String, String> event = new java.util.HashMap<>();
      for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
        int colon = line.indexOf(':');
        event.put(line.substring(0, colon), line.substring(colon + 1).strip());
      }
      assertEquals("snapshot", event.get("event"), event::toString);
      String data = event.get("data");
      JsonNode snapshot = new ObjectMapper().readTree(data);
      assertEquals(3, snapshot.path("members").size(), data);
      assertEquals(1, snapshot.path("queries").size(), data);
      // Every member's probe answered across the cluster, and the running source has a rate and a batch latency.
      snapshot.path("members").forEach(m -> assertTrue(m.has("cpu") && m.path("heapUsedBytes").asLong() > 0, data));
      JsonNode source = snapshot.path("queries").get(0).path("nodes").get(0);
      assertEquals("src-a", source.path("node").asText(), data);
      assertTrue(source.has("rowsPerSecond") && source.path("latencyMillis").asDouble() > 0, data);
      HttpResponse<String> third = http.send(events, HttpResponse.BodyHandlers.ofString());
      assertEquals(503, third.statusCode(), third.body());
      assertTrue(third.body().contains("ferry.console.clients-max"), third.body());
    }
  }

  private static Map<String, String> sitesByApi(TestCluster cluster, String query) throws Exception {
    List<QueryInfo> all = cluster.ferry().queries().toCompletableFuture().get(20, TimeUnit.SECONDS);
    return all.stream().filter(q -> q.query().value().equals(query)).findFirst().orElseThrow().sites();
  }

  /**
   * Errors and uncaught exceptions the page logged; a 404 from an endpoint this build may not have
   * (links, decisions, jobs) is how the console learns it is absent, not an error.
   */
  private static List<String> errors(WebDriver driver) {
    List<String> errors = new ArrayList<>();
    for (LogEntry e : driver.manage().logs().get(LogType.BROWSER)) {
      boolean optionalAbsent = e.getMessage().matches("(?s).*/(links|decisions|jobs) - Failed to load resource: .*404.*");
      if (e.getLevel().intValue() >= Level.WARNING.intValue() && !optionalAbsent) {
        errors.add(e.getLevel() + " " + e.getMessage());
      }
    }
    return errors;
  }
}
