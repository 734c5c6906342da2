package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class MemberSettingsTest {
  private static final String GOOD =
      "ferry.member { tier = edge, site = edge-a, host = \"10.0.0.5\", port = 2552, "
          + "seed-nodes = [\"pekko://ferry@10.0.0.1:2552\", \"pekko://ferry@cloud.example:25520\"], data-dir = \"/var/ferry\" }";

  private static Config withDefaults(String member) {
    return ConfigFactory.parseString(member).withFallback(ConfigFactory.parseResources("reference.conf"));
  }

  private static void assertRejected(Config config, String... fragments) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MemberSettings.from(config));
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), () -> "message lacks '" + f + "': " + e.getMessage());
    }
  }

  @Test
  void goodConfigParses() {
    MemberSettings s = MemberSettings.from(ConfigFactory.parseString(GOOD));
    assertEquals("edge", s.tier());
    assertEquals("edge-a", s.site());
    assertEquals("10.0.0.5", s.host());
    assertEquals(2552, s.port());
    assertEquals(List.of("pekko://ferry@10.0.0.1:2552", "pekko://ferry@cloud.example:25520"), s.seedNodes());
    assertEquals(Path.of("/var/ferry"), s.dataDir());
    assertEquals(List.of("worker", "edge", "site-edge-a"), s.roles());
    assertEquals("site-edge-a", s.siteRole());
  }

  @Test
  void defaultsMakeACloudMemberFormingItsOwnCluster() {
    MemberSettings s = MemberSettings.from(withDefaults(""));
    assertEquals(List.of("worker", "cloud", "site-cloud"), s.roles());
    assertEquals(0, s.port());
    assertEquals(List.of(), s.seedNodes());
  }

  @Test
  void badTierIsRejected() {
    assertRejected(withDefaults("ferry.member.tier = fog"), "ferry.member.tier", "'fog'");
  }

  @Test
  void badSiteNameIsRejected() {
    assertRejected(withDefaults("ferry.member.site = \"Edge A\""), "ferry.member.site", "'Edge A'");
    assertRejected(withDefaults("ferry.member.site = \"-edge\""), "ferry.member.site");
  }

  @Test
  void badPortIsRejected() {
    assertRejected(withDefaults("ferry.member.port = 70000"), "ferry.member.port", "70000");
    assertRejected(withDefaults("ferry.member.port = -1"), "ferry.member.port");
    assertRejected(withDefaults("ferry.member.port = http"), "ferry.member.port");
  }

  @Test
  void malformedSeedNodeIsRejected() {
    assertRejected(withDefaults("ferry.member.seed-nodes = [\"akka://ferry@10.0.0.1:2552\"]"), "ferry.member.seed-nodes", "akka://");
    assertRejected(withDefaults("ferry.member.seed-nodes = [\"pekko://other@10.0.0.1:2552\"]"), "ferry.member.seed-nodes");
    assertRejected(withDefaults("ferry.member.seed-nodes = [\"pekko://ferry@10.0.0.1\"]"), "ferry.member.seed-nodes", "host:port");
    assertRejected(withDefaults("ferry.member.seed-nodes = \"pekko://ferry@10.0.0.1:2552\""), "ferry.member.seed-nodes");
  }

  @Test
  void missingRequiredKeyIsNamed() {
    assertRejected(ConfigFactory.parseString(GOOD.replace("tier = edge, ", "")), "ferry.member.tier");
    assertRejected(ConfigFactory.parseString(GOOD.replace("data-dir = \"/var/ferry\"", "")), "ferry.member.data-dir");
    assertRejected(ConfigFactory.parseString("pekko.loglevel = INFO"), "invalid member configuration", "'ferry'");
  }
}
