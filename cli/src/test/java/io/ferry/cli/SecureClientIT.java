package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.runtime.LocalCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI against a secured member: scripts/dev-ca's certificate for HTTPS, tokens made by {@code
 * ferry token} and stored hashed in the member's config, the client's token from --token-file and
 * its trust from --truststore. Without a token the command fails and says what it needs; a read
 * token can look but not deploy, an admin token's deployment reaches the cluster.
 */
class SecureClientIT {

  @TempDir Path dir;

  private static final Pattern TOKEN = Pattern.compile("shown once\\): (\\S+)");
  private static final Pattern GRANT = Pattern.compile("\\{name = .*}");

  @Test
  void tokensFromFerryTokenOpenTheEndpointByRole() throws Exception {
    Path ca = dir.resolve("ca");
    Process p = new ProcessBuilder("bash", Path.of("..", "scripts", "dev-ca").toAbsolutePath().normalize().toString(), ca.toString(), "http").redirectErrorStream(true).start();
    String made = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), made);

    CliRun admin = CliRun.of("token", "--name", "alice", "--role", "admin");
    CliRun reader = CliRun.of("token", "--name", "bob", "--role", "read");
    assertEquals(0, admin.exit(), admin::toString);
    assertEquals(2, CliRun.of("token", "--name", "x", "--role", "root").exit());
    Config security =
        ConfigFactory.parseString(
            "ferry.security.http.tokens = [" + grant(admin) + ", " + grant(reader) + "]\n"
                + "ferry.security.http.auth = on\n"
                + "ferry.security.http.keystore = \"" + ca.resolve("http.p12") + "\"\n"
                + "ferry.security.http.keystore-password = ferry-dev\n");
    Path adminToken = Files.writeString(dir.resolve("admin.token"), token(admin) + "\n");
    Path readToken = Files.writeString(dir.resolve("read.token"), token(reader));
    String truststore = ca.resolve("truststore.p12").toString();

    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), Map.of("edge-a", "edge"), security, Duration.ofSeconds(60))) {
      String url = cluster.httpUrl("edge-a");

      CliRun anonymous = CliRun.of("status", "--url", url, "--truststore", truststore);
      assertEquals(1, anonymous.exit(), anonymous::toString);
      assertTrue(anonymous.err().contains("HTTP 401") && anonymous.err().contains("--token-file"), anonymous::err);

      CliRun untrusted = CliRun.of("status", "--url", url, "--token-file", adminToken.toString());
      assertEquals(1, untrusted.exit(), untrusted::toString);

      CliRun looks = CliRun.of("status", "--url", url, "--truststore", truststore, "--token-file", readToken.toString());
      assertEquals(0, looks.exit(), looks::toString);
      assertTrue(looks.out().contains("no queries deployed"), looks::out);

      CliRun deniedDeploy = CliRun.of("submit", "--sample", "--query", "s", "--url", url, "--truststore", truststore, "--token-file", readToken.toString());
      assertEquals(1, deniedDeploy.exit(), deniedDeploy::toString);
      assertTrue(deniedDeploy.err().contains("role read") && deniedDeploy.err().contains("needs admin"), deniedDeploy::err);

      CliRun deploys = CliRun.of("submit", "--sample", "--query", "s", "--records", "100", "--url", url, "--truststore", truststore, "--token-file", adminToken.toString());
      // Past the token check the cluster itself judges the deployment: the sample needs sites this one-member cluster lacks.
      assertEquals(1, deploys.exit(), deploys::toString);
      assertTrue(deploys.err().contains("query refused") && deploys.err().contains("edge-b"), deploys::err);
    }
  }

  private static String token(CliRun run) {
    Matcher m = TOKEN.matcher(run.out());
    assertTrue(m.find(), run::out);
    return m.group(1);
  }

  private static String grant(CliRun run) {
    Matcher m = GRANT.matcher(run.out());
    assertTrue(m.find(), run::out);
    return m.group();
  }
}
