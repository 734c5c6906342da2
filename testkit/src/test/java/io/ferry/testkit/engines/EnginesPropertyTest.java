package io.ferry.testkit.engines;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import io.ferry.query.NodeId;
import io.ferry.query.Row;
import io.ferry.runtime.local.LocalEngine;
import io.ferry.testkit.ReferenceRun;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The local engine (Pekko Streams), the in-process reference run (the operators in one thread)
 * and the independent model agree on random specs and inputs: late rows, equal timestamps, empty
 * inputs and windows, every window kind, window joins and unions. jqwik shrinks a failing seed and
 * prints it; the distributed engine gets the same specs in EnginesIT.
 */
class EnginesPropertyTest {
  private static ActorSystem<Void> system;

  @BeforeContainer
  static void start() {
    system = ActorSystem.create(Behaviors.empty(), "engines", ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(ConfigFactory.load()));
  }

  @AfterContainer
  static void stop() {
    system.terminate();
  }

  @Property(tries = 60)
  void localEngineReferenceRunAndModelAgree(@ForAll long seed) throws Exception {
    RandomSpecs.Spec spec = RandomSpecs.draw(new Random(seed), 400);
    List<Row> model = Model.run(spec);
    // Small batches, so windows close across many batches and the join sees its inputs interleave.
    int batch = 1 + new Random(seed ^ 0x5DEECE66DL).nextInt(64);
    List<Row> local = LocalEngine.start(spec.graph(), system, batch).result().toCompletableFuture().get(30, TimeUnit.SECONDS)
        .sinks().get(new NodeId("out"));
    List<Row> reference = ReferenceRun.run(spec.graph(), 100_000).get(new NodeId("out"));
    String what = "seed " + seed + " spec " + spec.graph().nodes();
    if (Model.unordered(spec)) {
      assertEquals(Model.multiset(model), Model.multiset(local), what);
      assertEquals(Model.multiset(model), Model.multiset(reference), what);
    } else {
      assertEquals(model, local, what);
      assertEquals(model, reference, what);
    }
  }
}
