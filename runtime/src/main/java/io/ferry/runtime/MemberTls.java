package io.ferry.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Mutual TLS between members ({@code ferry.security.artery}): Artery over {@code tls-tcp}, each
 * member presenting its own certificate and accepting only peers whose certificate the truststore's
 * CA signed, so a member without one cannot join. {@code scripts/dev-ca} makes a development CA, a
 * keystore per member and the truststore. Read by {@link FerryNode} into the member's Pekko config.
 */
public record MemberTls(boolean enabled, Path keystore, String keystorePassword, Path truststore, String truststorePassword) {
  /**
   * TLS 1.2 with ECDHE and AES-GCM only (dev-ca's keys are P-256). Not 1.3: Pekko's TLS stage
   * waits for the peer's close_notify, which TLS 1.3 no longer owes, so a member's actor system
   * never finished terminating (MemberTlsIT hung in shutdown).
   */
  static final String PROTOCOL = "TLSv1.2";
  static final List<String> SUITES = List.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");

  public MemberTls {
    if (enabled) {
      for (Path p : List.of(keystore, truststore)) {
        if (!Files.isReadable(p)) {
          throw new IllegalArgumentException(
              "ferry.security.artery: " + p + " is not a readable file (scripts/dev-ca makes the keystores and the truststore)");
        }
      }
    }
  }

  public static MemberTls from(Config config) {
    String p = "ferry.security.artery.";
    try {
      return new MemberTls(
          config.getBoolean(p + "enabled"),
          Path.of(config.getString(p + "keystore")),
          config.getString(p + "keystore-password"),
          Path.of(config.getString(p + "truststore")),
          config.getString(p + "truststore-password"));
    } catch (ConfigException e) {
      throw new IllegalArgumentException("invalid member TLS configuration: " + e.getMessage(), e);
    }
  }

  /** The Pekko settings that put Artery on mutual TLS; empty when off. */
  Config arteryConfig() {
    if (!enabled) {
      return ConfigFactory.empty();
    }
    String e = "pekko.remote.artery.ssl.config-ssl-engine.";
    return ConfigFactory.empty()
        .withValue("pekko.remote.artery.transport", ConfigValueFactory.fromAnyRef("tls-tcp"))
        .withValue(e + "key-store", ConfigValueFactory.fromAnyRef(keystore.toAbsolutePath().toString()))
        .withValue(e + "key-store-password", ConfigValueFactory.fromAnyRef(keystorePassword))
        .withValue(e + "key-password", ConfigValueFactory.fromAnyRef(keystorePassword))
        .withValue(e + "trust-store", ConfigValueFactory.fromAnyRef(truststore.toAbsolutePath().toString()))
        .withValue(e + "trust-store-password", ConfigValueFactory.fromAnyRef(truststorePassword))
        .withValue(e + "protocol", ConfigValueFactory.fromAnyRef(PROTOCOL))
        .withValue(e + "enabled-algorithms", ConfigValueFactory.fromIterable(SUITES))
        .withValue(e + "require-mutual-authentication", ConfigValueFactory.fromAnyRef(true));
  }
}
