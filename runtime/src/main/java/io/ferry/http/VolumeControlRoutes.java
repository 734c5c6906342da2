package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;

import io.ferry.api.VolumeAction;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.WritePolicy;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/**
 * The end of a volume migration's life (issue 14): {@code POST /volumes/{volume}/cutover|pause|
 * resume|abort|reverse} and {@code POST /volumes/{volume}/policy}. Each answers once the target has
 * made the request durable; a request the phase does not allow is 409 with why.
 */
final class VolumeControlRoutes {
  private VolumeControlRoutes() {}

  static final String POLICY_EXAMPLE = "{\"policy\": \"write-back\"}";

  static final List<Endpoint> ENDPOINTS =
      List.of(
          action("cutover", VolumeAction.CUTOVER),
          action("pause", VolumeAction.PAUSE),
          action("resume", VolumeAction.RESUME),
          action("abort", VolumeAction.ABORT),
          action("reverse", VolumeAction.REVERSE),
          Endpoint.post(
              "/volumes/{volume}/policy",
              (ctx, p) -> ctx.body(PolicyRequest.class, "a write policy", POLICY_EXAMPLE, r -> policy(ctx, new VolumeId(p.get(0)), r)),
              200, 400, 409, 413, 500, 504));

  /** Where the target's writes persist from now on: {@code target-only} or {@code write-back}. */
  record PolicyRequest(String policy) {
    PolicyRequest {
      BadRequest.text("policy", policy, "target-only or write-back");
      try {
        WritePolicy.parse(policy);
      } catch (IllegalArgumentException e) {
        throw BadRequest.field("policy", e.getMessage());
      }
    }
  }

  private static Endpoint action(String verb, VolumeAction action) {
    return Endpoint.post(
        "/volumes/{volume}/" + verb,
        (ctx, p) -> completeWithFuture(control(ctx, ctx.ferry().controlVolume(new VolumeId(p.get(0)), action))),
        200, 400, 409, 500, 504);
  }

  private static CompletionStage<HttpResponse> policy(EndpointContext ctx, VolumeId volume, PolicyRequest r) {
    return control(ctx, ctx.ferry().setWritePolicy(volume, WritePolicy.parse(r.policy())));
  }

  private static <T> CompletionStage<HttpResponse> control(EndpointContext ctx, CompletionStage<T> call) {
    return ctx.answer(call, a -> ctx.json(StatusCodes.OK, a), StatusCodes.CONFLICT);
  }
}
