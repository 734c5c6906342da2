package io.ferry.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.ferry.query.NodeId;
import io.ferry.query.QueryCompiler;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every SQL example in the repository compiles; the demo's SQL gives the demo's graph and placement. */
class SqlExamplesTest {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

  @Test
  void demoSqlCompilesToTheDemoGraph() throws IOException {
    QueryCompiler.Compiled c = new SqlCompiler().compile(Files.readString(ROOT.resolve("examples/demo.sql")), new QueryId("readings"));
    QueryGraph json =
        JsonMapper.builder().enable(DeserializationFeature.USE_LONG_FOR_INTS).build()
            .readValue(Files.readString(ROOT.resolve("examples/demo.json")), QueryGraph.class);
    assertEquals(Graphs.shape(json), Graphs.shape(c.graph()));
    assertEquals(json.id(), c.graph().id());
    // The demo's placement: each site's chain at its edge, the sink in the cloud.
    assertEquals("edge-a", c.sites().get(new NodeId("src-a")));
    assertEquals("edge-b", c.sites().get(new NodeId("src-b")));
    assertEquals("cloud", c.sites().get(new NodeId("out")));
    assertEquals(c.graph().nodes().size(), c.sites().size(), "every node of the demo is placed: " + c.sites());
  }

  @Test
  void everySqlExampleCompiles() throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.walk(ROOT.resolve("examples"))) {
      files = s.filter(p -> p.toString().endsWith(".sql")).sorted().toList();
    }
    assertFalse(files.isEmpty());
    for (Path p : files) {
      QueryGraph g = new SqlCompiler().compile(Files.readString(p), new QueryId("example")).graph();
      assertFalse(g.compile().isEmpty(), p.toString());
    }
  }
}
