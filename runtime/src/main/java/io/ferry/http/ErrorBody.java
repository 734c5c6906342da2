package io.ferry.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Optional;

/**
 * The body of every 4xx and 5xx answer of the management endpoint: what went wrong, and the
 * request field it concerns when there is one ({@code field} is left out otherwise).
 */
@JsonInclude(JsonInclude.Include.NON_ABSENT)
public record ErrorBody(String error, Optional<String> field) {}
