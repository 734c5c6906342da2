package io.ferry.query.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.typesafe.config.ConfigFactory;
import io.ferry.query.ops.WindowState;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.ActorIdentity;
import org.apache.pekko.actor.Identify;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.apache.pekko.persistence.testkit.javadsl.SnapshotTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class NodeWarmUpTest {

  private static ActorTestKit testKit;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create(
        ConfigFactory.parseString("pekko.persistence.journal.plugin = \"pekko.persistence.testkit.journal\"")
            .withFallback(PersistenceTestKitSnapshotPlugin.config())
            .withFallback(org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin.config())
            .withFallback(ConfigFactory.load()));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void aWindowNodesSnapshotAndEventsRoundTripThroughTheMembersSerializers() {
    NodeSnapshot s = NodeWarmUp.roundTrip(SerializationExtension.get(Adapter.toClassic(testKit.system())));
    WindowState w = assertInstanceOf(WindowState.class, s.operatorState());
    assertFalse(w.open().isEmpty(), "the sample ran the window operator");
    assertEquals("warm-up", s.pausedBy());
  }

  @Test
  void theWarmUpActorStopsAndLeavesNoSnapshotBehind() {
    SnapshotTestKit snapshots = SnapshotTestKit.create(testKit.system());
    NodeWarmUp.start(testKit.system(), "warm-up-test");
    TestKit probe = new TestKit(Adapter.toClassic(testKit.system()));
    probe.awaitAssert(Duration.ofSeconds(10), () -> {
      Adapter.toClassic(testKit.system()).actorSelection("/system/ferry-node-warm-up").tell(new Identify(1), probe.getRef());
      ActorIdentity id = probe.expectMsgClass(ActorIdentity.class);
      assertEquals(java.util.Optional.empty(), id.getActorRef(), "the warm-up stops when done");
      return null;
    });
    assertEquals(List.of(), snapshots.persistedInStorage("warm-up-test"), "its snapshot is deleted again");
  }
}
