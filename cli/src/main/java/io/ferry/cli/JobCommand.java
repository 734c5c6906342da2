package io.ferry.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.ferry.tasks.JobId;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry job submit|status|cancel}: jobs of tasks through a member's {@code /jobs} endpoint (docs/jobs.md). */
@Command(
    name = "job",
    description = "Submits, shows or cancels a job of tasks (commands, volume migrations) run by the sites' pools.",
    synopsisSubcommandLabel = "(submit | status | cancel)",
    subcommands = {JobCommand.Submit.class, JobCommand.Status.class, JobCommand.Cancel.class})
final class JobCommand {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final long JOB_FILE_BYTES_MAX = 16L * 1024 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  static final class Endpoint {
    @Option(names = "--url", paramLabel = "URL", description = "a member's management endpoint (default ${DEFAULT-VALUE})")
    String url = Main.DEFAULT_URL;
  }

  @Command(name = "submit", description = {"Submits a job file (JSON, or YAML when it ends in .yaml/.yml); see docs/jobs.md for its format."})
  static final class Submit implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "the job file")
    Path file;

    @CommandLine.Mixin Endpoint endpoint = new Endpoint();

    @Override
    public Integer call() throws IOException {
      JsonNode job = read(file);
      return run(endpoint, c -> {
        JsonNode a = c.expect(c.post("/jobs", JSON.writeValueAsString(job)), "submitting job " + job.path("id").asText());
        System.out.printf("job %s %s: %d tasks, %d replicas%n", a.path("id").asText(),
            a.path("created").asBoolean() ? "queued" : "was queued before (nothing added)", a.path("tasks").asInt(), a.path("replicas").asInt());
        return 0;
      });
    }
  }

  @Command(name = "status", description = "Shows every job's progress, or one job's with each task's pool, attempts per pool, lease and outcome.")
  static final class Status implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "JOB", description = "the job id (default: every job)")
    String job;

    @CommandLine.Mixin Endpoint endpoint = new Endpoint();

    @Override
    public Integer call() {
      String id = job == null ? null : new JobId(job).value(); // checked: it becomes part of a URL path
      return run(endpoint, c -> {
        if (id == null) {
          JsonNode all = c.expect(c.get("/jobs"), "listing jobs").path("jobs");
          if (all.isEmpty()) {
            System.out.println("no jobs");
          }
          for (JsonNode j : all) {
            System.out.println(progress(j));
          }
        } else {
          JsonNode j = c.expect(c.get("/jobs/" + id), "job " + id);
          System.out.println(progress(j));
          System.out.print(tasks(j));
        }
        return 0;
      });
    }
  }

  @Command(name = "cancel", description = "Cancels a job's unfinished tasks; running attempts stop at their next lease renewal.")
  static final class Cancel implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "JOB", description = "the job id")
    String job;

    @CommandLine.Mixin Endpoint endpoint = new Endpoint();

    @Override
    public Integer call() {
      String id = new JobId(job).value();
      return run(endpoint, c -> {
        JsonNode a = c.expect(c.post("/jobs/" + id + "/cancel", ""), "cancelling job " + id);
        System.out.printf("job %s cancelled: %d unfinished tasks%n", id, a.path("tasks").asInt());
        return 0;
      });
    }
  }

  /** A job file as JSON: YAML files are converted; the member checks the content. */
  static JsonNode read(Path file) throws IOException {
    if (!Files.isReadable(file)) {
      throw new IllegalArgumentException("cannot read job file " + file);
    }
    if (Files.size(file) > JOB_FILE_BYTES_MAX) {
      throw new IllegalArgumentException("job file " + file + " is larger than " + JOB_FILE_BYTES_MAX + " bytes");
    }
    String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
    ObjectMapper m = name.endsWith(".yaml") || name.endsWith(".yml") ? YAML : JSON;
    JsonNode tree;
    try {
      tree = m.readTree(file.toFile());
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("job file " + file + " is not valid " + (m == YAML ? "YAML" : "JSON") + ": " + e.getOriginalMessage());
    }
    if (tree == null || !tree.isObject()) {
      throw new IllegalArgumentException("job file " + file + " must hold an object with id and tasks (see docs/jobs.md)");
    }
    return tree;
  }

  /** One line: a job's state, its tasks by state and its ETA. */
  static String progress(JsonNode j) {
    StringBuilder b = new StringBuilder("job " + j.path("id").asText() + ": " + j.path("state").asText() + " - "
        + j.path("done").asInt() + " done, " + j.path("running").asInt() + " running, " + j.path("queued").asInt() + " queued, "
        + j.path("failed").asInt() + " failed, " + j.path("cancelled").asInt() + " cancelled of " + j.path("tasks").size());
    if (j.path("etaMillis").isNumber()) {
      b.append("; ETA ").append(Math.round(j.path("etaMillis").asLong() / 1000.0)).append(" s");
    }
    return b.toString();
  }

  /** A table of a job's tasks. */
  static String tasks(JsonNode j) {
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"TASK", "KIND", "STATE", "POOL", "ATTEMPTS", "LEASE HOLDER", "LEASE EXPIRES", "OUTCOME", "REASON"});
    for (JsonNode t : j.path("tasks")) {
      StringBuilder attempts = new StringBuilder();
      for (Iterator<Map.Entry<String, JsonNode>> it = t.path("attempts").fields(); it.hasNext(); ) {
        var e = it.next();
        attempts.append(attempts.length() == 0 ? "" : " ").append(e.getKey()).append(':').append(e.getValue().asInt());
      }
      rows.add(new String[] {
        t.path("id").asText(), t.path("kind").asText(), t.path("state").asText(), text(t.path("pool")), attempts.length() == 0 ? "-" : attempts.toString(),
        text(t.path("leaseHolder")), t.path("leaseExpiresAt").isNumber() ? Instant.ofEpochMilli(t.path("leaseExpiresAt").asLong()).toString() : "-",
        text(t.path("outcome")), oneLine(text(t.path("reason")))
      });
    }
    int[] w = new int[rows.get(0).length];
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        w[i] = Math.max(w[i], r[i].length());
      }
    }
    StringBuilder out = new StringBuilder();
    for (String[] r : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < r.length; i++) {
        line.append(' ').append(i == r.length - 1 ? r[i] : String.format("%-" + w[i] + "s", r[i]));
      }
      out.append(line.toString().stripTrailing()).append('\n');
    }
    return out.toString();
  }

  private static String text(JsonNode n) {
    return n.isMissingNode() || n.isNull() || n.asText().isEmpty() ? "-" : n.asText();
  }

  private static String oneLine(String s) {
    String flat = s.replace('\n', ' ');
    return flat.length() > 120 ? flat.substring(0, 117) + "..." : flat;
  }

  // ---- HTTP

  private interface Call {
    int run(Client c) throws Failed, IOException;
  }

  private static final class Failed extends Exception {
    Failed(String message) {
      super(message);
    }
  }

  private static int run(Endpoint endpoint, Call call) {
    try {
      return call.run(new Client(ManagementClient.baseUri(endpoint.url)));
    } catch (Failed | IOException e) {
      System.err.println("ferry: " + e.getMessage());
      return 1;
    }
  }

  private record Client(URI base) {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    HttpResponse<String> get(String path) throws Failed {
      return send(HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT).GET().build());
    }

    HttpResponse<String> post(String path, String body) throws Failed {
      return send(HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT)
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build());
    }

    HttpResponse<String> send(HttpRequest r) throws Failed {
      try {
        return HTTP.send(r, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      } catch (ConnectException e) {
        throw new Failed("no Ferry member answers at " + base + ": is a cluster running?");
      } catch (IOException e) {
        throw new Failed("could not talk to " + base + ": " + e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Failed("interrupted while waiting for " + base);
      }
    }

    JsonNode expect(HttpResponse<String> r, String doing) throws Failed {
      JsonNode body;
      try {
        body = JSON.readTree(r.body());
      } catch (JsonProcessingException e) {
        throw new Failed(doing + ": the answer from " + base + " is not JSON (HTTP " + r.statusCode() + ")");
      }
      if (r.statusCode() / 100 != 2) {
        throw new Failed(doing + " failed (HTTP " + r.statusCode() + "): " + (body != null && body.path("error").isTextual() ? body.path("error").asText() : r.body()));
      }
      return body;
    }
  }
}
