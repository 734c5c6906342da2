package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;

import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import io.ferry.placement.Site;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** {@code /volumes}: start, list, inspect and stop volume migrations. */
final class VolumeRoutes {
  private VolumeRoutes() {}

  static final String EXAMPLE =
      "{\"volume\": \"vm-1\", \"sourceSite\": \"edge-a\", \"sourcePath\": \"/images/vm-1.img\", \"targetSite\": \"cloud\", \"blockSize\": 65536, \"trace\": \"/traces/boot.trace\"}";

  static final List<Endpoint> ENDPOINTS =
      List.of(
          Endpoint.get("/volumes", (ctx, p) -> completeWithFuture(volumes(ctx)), 200, 500, 504),
          Endpoint.post("/volumes", (ctx, p) -> ctx.body(VolumeRequest.class, "a volume migration", EXAMPLE, r -> start(ctx, r)), 201, 400, 409, 413, 500, 504),
          Endpoint.get("/volumes/{volume}", (ctx, p) -> completeWithFuture(status(ctx, new VolumeId(p.get(0)))), 200, 400, 404, 500, 504),
          Endpoint.post("/volumes/{volume}/stop", (ctx, p) -> completeWithFuture(stop(ctx, new VolumeId(p.get(0)))), 200, 400, 404, 500, 504));

  /** A running volume migration as the endpoint lists it. */
  record VolumeView(String volume, String sourceSite, String sourcePath, String targetSite, int blockSizeBytes, String traceFile, String backendMember, String frontendMember) {}

  /**
   * A volume to migrate: its id (also its NBD export name), where its image is, where to move it;
   * {@code blockSize} defaults to {@code ferry.blocks.block-size}, {@code trace} to none, {@code
   * encryptAtRest} (keep it encrypted in the target's store, the key at the source site) to false,
   * {@code frontends} (2: clustered, a second frontend on another member of the target site) to 1,
   * {@code preCopy} (the workload runs at the source through Ferry's export there until the
   * cut-over) to false.
   */
  record VolumeRequest(
      String volume, String sourceSite, String sourcePath, String targetSite, Optional<Long> blockSize, Optional<String> trace, Optional<Boolean> encryptAtRest, Optional<Integer> frontends, Optional<Boolean> preCopy) {
    VolumeRequest {
      BadRequest.text("volume", volume, "the volume id (also its NBD export name)");
      BadRequest.text("sourceSite", sourceSite, "the site that holds the source image");
      BadRequest.text("sourcePath", sourcePath, "the source image's path at the source site");
      BadRequest.text("targetSite", targetSite, "the site to migrate the volume to");
      try {
        new VolumeId(volume);
      } catch (IllegalArgumentException e) {
        throw BadRequest.field("volume", e.getMessage());
      }
      BadRequest.named("sourceSite", () -> new Site(sourceSite));
      BadRequest.named("targetSite", () -> new Site(targetSite));
      blockSize = blockSize == null ? Optional.empty() : blockSize;
      trace = trace == null ? Optional.empty() : trace;
      encryptAtRest = encryptAtRest == null ? Optional.empty() : encryptAtRest;
      frontends = frontends == null ? Optional.empty() : frontends;
      preCopy = preCopy == null ? Optional.empty() : preCopy;
      blockSize.ifPresent(
          b -> {
            try {
              VolumeSpec.checkBlockSize(b);
            } catch (IllegalArgumentException e) {
              throw BadRequest.field("blockSize", e.getMessage());
            }
          });
    }

    VolumeSpec spec(long blockSizeDefault) {
      VolumeSpec spec = new VolumeSpec(new VolumeId(volume), sourceSite, sourcePath, targetSite, VolumeSpec.checkBlockSize(blockSize.orElse(blockSizeDefault)), trace.orElse(""));
      spec = encryptAtRest.orElse(false) ? spec.encryptedAtRest() : spec;
      try {
        spec = frontends.map(spec::withFrontends).orElse(spec);
      } catch (IllegalArgumentException e) {
        throw BadRequest.field("frontends", e.getMessage());
      }
      try {
        return preCopy.orElse(false) ? spec.withPreCopy() : spec;
      } catch (IllegalArgumentException e) {
        throw BadRequest.field("preCopy", e.getMessage());
      }
    }
  }

  private static CompletionStage<HttpResponse> volumes(EndpointContext ctx) {
    return ctx.answer(
        ctx.ferry().volumes(),
        all ->
            ctx.json(
                StatusCodes.OK,
                all.stream()
                    .map(v -> new VolumeView(v.spec().volume().value(), v.spec().sourceSite().name(), v.spec().sourcePath(), v.spec().targetSite().name(), v.spec().blockSizeBytes(), v.spec().traceFile(), v.backendMember(), v.frontendMember()))
                    .toList()),
        StatusCodes.INTERNAL_SERVER_ERROR);
  }

  private static CompletionStage<HttpResponse> start(EndpointContext ctx, VolumeRequest request) {
    long blockSizeDefault = ctx.system().settings().config().getBytes("ferry.blocks.block-size");
    return ctx.answer(ctx.ferry().startVolume(request.spec(blockSizeDefault)), a -> ctx.json(StatusCodes.CREATED, a), StatusCodes.CONFLICT);
  }

  private static CompletionStage<HttpResponse> stop(EndpointContext ctx, VolumeId volume) {
    return ctx.answer(ctx.ferry().stopVolume(volume), a -> ctx.json(StatusCodes.OK, a), StatusCodes.NOT_FOUND);
  }

  private static CompletionStage<HttpResponse> status(EndpointContext ctx, VolumeId volume) {
    return ctx.answer(ctx.ferry().volumeStatus(volume), st -> ctx.json(StatusCodes.OK, st), StatusCodes.NOT_FOUND);
  }
}
