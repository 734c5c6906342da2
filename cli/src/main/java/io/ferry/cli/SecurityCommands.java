package io.ferry.cli;

import io.ferry.http.Role;
import io.ferry.http.Tokens;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Optional;
import java.util.concurrent.Callable;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The CLI's side of the management endpoint's security: making tokens, and the credentials client commands send. */
final class SecurityCommands {
  private SecurityCommands() {}

  /** A token file longer than this is not a token file. */
  private static final int TOKEN_FILE_BYTES_MAX = 1024;

  @Command(
      name = "token",
      description = {
        "Prints a new management API token and the line that grants it in ferry.security.http.tokens.",
        "The member's configuration keeps only the token's SHA-256; give the token itself to its user",
        "(FERRY_TOKEN=... or --token-file for the ferry commands)."
      })
  static final class TokenCommand implements Callable<Integer> {
    @Option(names = "--name", required = true, paramLabel = "NAME", description = "who holds it, as the audit log names them")
    String name;

    @Option(names = "--role", required = true, paramLabel = "ROLE", description = "read (status, metrics), operate (migrate, volumes, jobs) or admin (deploy, cluster, audit)")
    String role;

    @Option(
        names = "--append",
        paramLabel = "FILE",
        description = "append the grant to this HOCON file (ferry.security.http.tokens += {...}) and print only the token")
    Path append;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      Role r = Role.parse(role);
      String token = Tokens.generate();
      Tokens.Grant grant = new Tokens.Grant(name, Tokens.sha256Hex(token), r);
      var out = spec.commandLine().getOut();
      String line = "{name = \"" + grant.name() + "\", sha256 = \"" + grant.sha256Hex() + "\", role = " + r.label() + "}";
      if (append != null) {
        Files.writeString(append, "ferry.security.http.tokens += " + line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        out.println(token);
        out.flush();
        return 0;
      }
      out.println("token (give to " + name + ", shown once): " + token);
      out.println("add to ferry.security.http.tokens:");
      out.println("  " + line);
      out.flush();
      return 0;
    }
  }

  @Command(
      name = "bench-security",
      description = {
        "Prints what security costs: block background throughput and on-demand read p50/p99 with plain and sealed",
        "(AES-GCM) block frames on loopback and an emulated link, and the move pause with members over plain TCP and mutual TLS.",
        "Run from the checkout (certificates come from scripts/dev-ca)."
      })
  static final class BenchSecurityCommand implements Callable<Integer> {
    @CommandLine.Parameters(index = "0", arity = "0..1", paramLabel = "SIZE_MIB", description = "random image size (default ${DEFAULT-VALUE})")
    int sizeMiB = 128;

    @CommandLine.Parameters(index = "1", arity = "0..1", paramLabel = "RTT_MS", description = "emulated link round trip (default ${DEFAULT-VALUE})")
    int rttMs = 20;

    @CommandLine.Parameters(index = "2", arity = "0..1", paramLabel = "MBIT", description = "emulated link bandwidth (default ${DEFAULT-VALUE})")
    long mbit = 200;

    @CommandLine.Parameters(index = "3", arity = "0..1", paramLabel = "READS", description = "on-demand reads per run (default ${DEFAULT-VALUE})")
    int reads = 200;

    @CommandLine.Parameters(index = "4", arity = "0..1", paramLabel = "MOVES", description = "moves each way per member setup (default ${DEFAULT-VALUE})")
    int moves = 10;

    @CommandLine.Parameters(index = "5", arity = "0..1", paramLabel = "ROUNDS", description = "runs of each side, interleaved; medians and spread are printed (default ${DEFAULT-VALUE})")
    int rounds = 3;

    @CommandLine.Parameters(index = "6", arity = "0..1", paramLabel = "PARTS", description = "all, links (volume runs only) or moves (default ${DEFAULT-VALUE})")
    String parts = "all";

    @Override
    public Integer call() throws Exception {
      if (!java.util.List.of("all", "links", "moves").contains(parts)) {
        throw new IllegalArgumentException("PARTS must be all, links or moves, got '" + parts + "'");
      }
      if (sizeMiB < 1 || rttMs < 0 || mbit < 1 || reads < 1 || moves < 1 || rounds < 1) {
        throw new IllegalArgumentException("SIZE_MIB, MBIT, READS, MOVES and ROUNDS must be positive and RTT_MS not negative");
      }
      io.ferry.bench.SecurityBench.main(new String[] {
        Integer.toString(sizeMiB), Integer.toString(rttMs), Long.toString(mbit), Integer.toString(reads), Integer.toString(moves), Integer.toString(rounds), parts});
      return 0;
    }
  }

  /** How a client command authenticates: its token, and the CA it trusts for an https:// URL. */
  static final class ClientCredentials {
    @Option(names = "--token-file", paramLabel = "FILE", description = "file holding the bearer token (default: the FERRY_TOKEN environment variable)")
    Path tokenFile;

    @Option(names = "--truststore", paramLabel = "FILE", description = "PKCS12 truststore with the endpoint's CA, for https:// (default: FERRY_TRUSTSTORE; password FERRY_TRUSTSTORE_PASSWORD, else ferry-dev)")
    Path truststore;

    Optional<String> token() {
      if (tokenFile != null) {
        try {
          if (Files.size(tokenFile) > TOKEN_FILE_BYTES_MAX) {
            throw new IllegalArgumentException("--token-file " + tokenFile + " is larger than " + TOKEN_FILE_BYTES_MAX + " bytes: not a token file");
          }
          String t = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
          if (t.isEmpty()) {
            throw new IllegalArgumentException("--token-file " + tokenFile + " is empty");
          }
          return Optional.of(t);
        } catch (IOException e) {
          throw new IllegalArgumentException("cannot read --token-file " + tokenFile + ": " + e.getMessage());
        }
      }
      String env = System.getenv("FERRY_TOKEN");
      return env == null || env.isBlank() ? Optional.empty() : Optional.of(env.strip());
    }

    Optional<SSLContext> sslContext() {
      Path store = truststore;
      if (store == null) {
        String env = System.getenv("FERRY_TRUSTSTORE");
        if (env == null || env.isBlank()) {
          return Optional.empty();
        }
        store = Path.of(env);
      }
      String pw = Optional.ofNullable(System.getenv("FERRY_TRUSTSTORE_PASSWORD")).orElse("ferry-dev");
      try (InputStream in = Files.newInputStream(store)) {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(in, pw.toCharArray());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return Optional.of(ctx);
      } catch (IOException | GeneralSecurityException e) {
        throw new IllegalArgumentException("cannot read truststore " + store + " (PKCS12, password FERRY_TRUSTSTORE_PASSWORD): " + e.getMessage());
      }
    }
  }
}
