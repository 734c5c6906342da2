package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;

import io.ferry.api.JobStatus;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import io.ferry.tasks.JobId;
import io.ferry.tasks.JobSpec;
import io.ferry.tasks.TaskSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** {@code /jobs}: submit, list, inspect and cancel jobs of tasks (docs/jobs.md has the job format). */
final class JobRoutes {
  private JobRoutes() {}

  static final int RETRY_COUNT_DEFAULT = 3;
  static final long LEASE_MS_DEFAULT = 30_000;

  static final String EXAMPLE =
      "{\"id\": \"wave-1\", \"replicas\": 2, \"tasks\": [{\"name\": \"hello\", \"kind\": \"command\", \"parameters\": {\"command\": \"/bin/echo\", \"args\": [\"hi\"]}, \"retryCount\": 2, \"leaseMs\": 10000, \"site\": \"edge-a\"}]}";

  static final List<Endpoint> ENDPOINTS =
      List.of(
          Endpoint.get("/jobs", (ctx, p) -> completeWithFuture(jobs(ctx)), 200, 500, 504),
          Endpoint.post("/jobs", (ctx, p) -> ctx.body(JobRequest.class, "a job", EXAMPLE, r -> submit(ctx, r)), 201, 200, 400, 413, 500, 504),
          Endpoint.get("/jobs/{job}", (ctx, p) -> completeWithFuture(job(ctx, id(p.get(0)))), 200, 400, 404, 500, 504),
          Endpoint.post("/jobs/{job}/cancel", (ctx, p) -> completeWithFuture(cancel(ctx, id(p.get(0)))), 200, 400, 404, 500, 504));

  /** The list answer: {@code {"jobs": [...]}}. */
  record JobList(List<JobStatus> jobs) {}

  /**
   * A job as submitted: its id (a resubmit with the same id and tasks is acknowledged again, not
   * queued twice), the replica count of its enqueue, and its tasks.
   */
  record JobRequest(String id, Optional<Long> replicas, List<TaskRequest> tasks) {
    JobRequest {
      BadRequest.text("id", id, "the job id");
      BadRequest.named("id", () -> new JobId(id));
      replicas = replicas == null ? Optional.empty() : replicas;
      if (tasks == null || tasks.isEmpty()) {
        throw BadRequest.field("tasks", "field 'tasks' must list at least one task");
      }
    }

    JobSpec spec() {
      List<TaskSpec> specs = new ArrayList<>();
      for (int i = 0; i < tasks.size(); i++) {
        specs.add(tasks.get(i).spec("tasks[" + i + "]"));
      }
      try {
        return new JobSpec(new JobId(id), specs);
      } catch (IllegalArgumentException e) {
        throw BadRequest.field("tasks", e.getMessage());
      }
    }
  }

  /**
   * One task: {@code parameters} values are strings, numbers or lists of strings (a list becomes
   * one value of lines, as the {@code args} of a command); {@code retryCount} is the attempts each
   * pool may make (default 3), {@code leaseMs} the lease duration (default 30000).
   */
  record TaskRequest(String name, String kind, Optional<Map<String, Object>> parameters, Optional<Long> retryCount, Optional<Long> leaseMs,
      Optional<String> site, Optional<String> tier, Optional<Long> attemptBudget) {
    TaskRequest {
      parameters = parameters == null ? Optional.empty() : parameters;
      retryCount = retryCount == null ? Optional.empty() : retryCount;
      leaseMs = leaseMs == null ? Optional.empty() : leaseMs;
      site = site == null ? Optional.empty() : site;
      tier = tier == null ? Optional.empty() : tier;
      attemptBudget = attemptBudget == null ? Optional.empty() : attemptBudget;
    }

    TaskSpec spec(String field) {
      Map<String, String> params = new TreeMap<>();
      for (var e : parameters.orElse(Map.of()).entrySet()) {
        Object v = e.getValue();
        if (v instanceof List<?> list) {
          List<String> lines = new ArrayList<>();
          for (Object o : list) {
            if (o instanceof Map || o instanceof List || o == null) {
              throw BadRequest.field(field + ".parameters." + e.getKey(), "a list parameter holds strings or numbers, got " + o);
            }
            lines.add(String.valueOf(o));
          }
          params.put(e.getKey(), String.join("\n", lines));
        } else if (v instanceof String || v instanceof Number || v instanceof Boolean) {
          params.put(e.getKey(), String.valueOf(v));
        } else {
          throw BadRequest.field(field + ".parameters." + e.getKey(), "a parameter is a string, a number or a list of strings, got " + v);
        }
      }
      try {
        return new TaskSpec(name, kind, params, Math.toIntExact(retryCount.orElse((long) RETRY_COUNT_DEFAULT)),
            Duration.ofMillis(leaseMs.orElse(LEASE_MS_DEFAULT)), site.map(Site::of), tier.map(Tier::parse),
            Math.toIntExact(attemptBudget.orElse(0L)));
      } catch (IllegalArgumentException | ArithmeticException e) {
        throw BadRequest.field(field, field + ": " + e.getMessage());
      }
    }
  }

  private static JobId id(String s) {
    try {
      return new JobId(s);
    } catch (IllegalArgumentException e) {
      throw BadRequest.field("job", e.getMessage());
    }
  }

  private static CompletionStage<HttpResponse> jobs(EndpointContext ctx) {
    return ctx.answer(ctx.ferry().jobs(), all -> ctx.json(StatusCodes.OK, new JobList(all)), StatusCodes.INTERNAL_SERVER_ERROR);
  }

  private static CompletionStage<HttpResponse> submit(EndpointContext ctx, JobRequest request) {
    JobSpec spec = request.spec();
    var call = request.replicas().isPresent()
        ? ctx.ferry().submitJob(spec, Math.toIntExact(request.replicas().get()))
        : ctx.ferry().submitJob(spec);
    return ctx.answer(call, a -> ctx.json(a.created() ? StatusCodes.CREATED : StatusCodes.OK, a), StatusCodes.BAD_REQUEST);
  }

  private static CompletionStage<HttpResponse> job(EndpointContext ctx, JobId job) {
    return ctx.answer(ctx.ferry().job(job), j -> ctx.json(StatusCodes.OK, j), StatusCodes.NOT_FOUND);
  }

  private static CompletionStage<HttpResponse> cancel(EndpointContext ctx, JobId job) {
    return ctx.answer(ctx.ferry().cancelJob(job), c -> ctx.json(StatusCodes.OK, c), StatusCodes.NOT_FOUND);
  }
}
