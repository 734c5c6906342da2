package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** {@code /openapi.yaml}: this API described in OpenAPI 3, the document kept at {@value #RESOURCE} on the classpath. */
final class OpenApiRoutes {
  private OpenApiRoutes() {}

  static final String RESOURCE = "openapi.yaml";
  private static final ContentType YAML = MediaTypes.applicationWithOpenCharset("yaml").toContentType(HttpCharsets.UTF_8);

  static final List<Endpoint> ENDPOINTS = List.of(Endpoint.get("/openapi.yaml", (ctx, p) -> complete(HttpResponse.create().withStatus(StatusCodes.OK).withEntity(YAML, document())), 200));

  /** The document's bytes, read from the classpath. */
  static byte[] document() {
    try (InputStream in = OpenApiRoutes.class.getClassLoader().getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing from the classpath of ferry-runtime");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }
}
