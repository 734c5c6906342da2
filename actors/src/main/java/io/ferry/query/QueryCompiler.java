package io.ferry.query;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * A query language compiled to the graph spec, found at run time through {@link ServiceLoader} so a
 * build without it (an embedder who never uses SQL leaves module {@code ferry-sql} and Calcite out)
 * still runs graphs and says clearly what is missing.
 */
public interface QueryCompiler {

  /** The language's name as users give it, e.g. {@code sql}. */
  String language();

  /**
   * Compiles {@code text} into a graph named {@code id}. Throws a {@link QueryException} whose
   * message says where (line and column) and what is wrong; never anything else.
   */
  Compiled compile(String text, QueryId id);

  /**
   * A compiled query: its graph, the nodes the text pins to a site or a tier, and for every node a
   * line saying where it came from and why it is pinned, for {@code --explain}.
   */
  record Compiled(QueryGraph graph, Map<NodeId, String> sites, Map<NodeId, String> tiers, Map<NodeId, String> notes) {
    /** Maps keep the graph's node order, so an explanation reads top to bottom. */
    public Compiled {
      sites = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(sites));
      tiers = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(tiers));
      notes = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(notes));
    }
  }

  /** The compiler of {@code language} on the class path, if any. */
  static Optional<QueryCompiler> find(String language) {
    for (QueryCompiler c : ServiceLoader.load(QueryCompiler.class, QueryCompiler.class.getClassLoader())) {
      if (c.language().equalsIgnoreCase(language)) {
        return Optional.of(c);
      }
    }
    return Optional.empty();
  }

  /** {@link #find}, or a QueryException that says which module to add. */
  static QueryCompiler require(String language) {
    return find(language)
        .orElseThrow(
            () ->
                new QueryException(
                    "no " + language + " compiler in this build: add the module io.ferry:ferry-" + language.toLowerCase(java.util.Locale.ROOT)
                        + " to the class path (the ferry application includes it; an embedded runtime may leave it out). Known: " + known()));
  }

  private static List<String> known() {
    return ServiceLoader.load(QueryCompiler.class, QueryCompiler.class.getClassLoader()).stream()
        .map(p -> p.get().language())
        .sorted()
        .toList();
  }
}
