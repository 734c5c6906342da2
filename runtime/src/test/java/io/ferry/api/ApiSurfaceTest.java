package io.ferry.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The embedding API is records and the {@link Ferry} facade: no actor reference, sharding handle,
 * actor protocol message or {@code internal} type appears in a public signature of io.ferry.api.
 */
class ApiSurfaceTest {

  /**
   * Actors' protocols and the block halves' own status records are nested in their classes; an
   * API type must not be one of them (the API has its own records, mapped in ApiRecords).
   */
  private static final Set<String> PROTOCOL_OWNERS =
      Set.of("LogicNode", "QueryRegistry", "VolumeRegistry", "BlockFrontend", "BlockBackend", "BlockAgent", "FrontendVolume", "BackendVolume", "VolumeMigration");

  static List<String> leaks(Class<?> api) {
    List<String> leaks = new ArrayList<>();
    List<Type> types = new ArrayList<>();
    if (api.isRecord()) {
      for (RecordComponent c : api.getRecordComponents()) {
        types.add(c.getGenericType());
      }
    }
    for (Method m : api.getDeclaredMethods()) {
      if (Modifier.isPublic(m.getModifiers())) {
        types.add(m.getGenericReturnType());
        types.addAll(List.of(m.getGenericParameterTypes()));
      }
    }
    for (Type t : types) {
      check(api, t, leaks);
    }
    return leaks.stream().distinct().toList();
  }

  private static void check(Class<?> api, Type t, List<String> leaks) {
    if (t instanceof ParameterizedType p) {
      check(api, p.getRawType(), leaks);
      for (Type a : p.getActualTypeArguments()) {
        check(api, a, leaks);
      }
    } else if (t instanceof WildcardType w) {
      Stream.concat(Stream.of(w.getUpperBounds()), Stream.of(w.getLowerBounds())).forEach(b -> check(api, b, leaks));
    } else if (t instanceof GenericArrayType g) {
      check(api, g.getGenericComponentType(), leaks);
    } else if (t instanceof Class<?> c) {
      String name = c.getName();
      Class<?> outer = c;
      while (outer.getEnclosingClass() != null) {
        outer = outer.getEnclosingClass();
      }
      boolean leak =
          name.startsWith("org.apache.pekko.actor.typed.ActorRef")
              || name.startsWith("org.apache.pekko.cluster")
              || name.contains(".internal.")
              || (c != outer && PROTOCOL_OWNERS.contains(outer.getSimpleName()));
      if (leak) {
        leaks.add(api.getSimpleName() + " exposes " + name);
      }
    }
  }

  static List<Class<?>> apiClasses() throws IOException, URISyntaxException, ClassNotFoundException {
    Path dir = Path.of(Ferry.class.getProtectionDomain().getCodeSource().getLocation().toURI()).resolve("io/ferry/api");
    List<Class<?>> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.sorted().toList()) {
        String file = f.getFileName().toString();
        if (file.endsWith(".class") && !file.contains("$")) {
          addWithNested(Class.forName("io.ferry.api." + file.substring(0, file.length() - ".class".length())), out);
        }
      }
    }
    return out;
  }

  /** A public API type and the public types nested in it (VolumeStatus.Frontend ...), which the API exposes as well. */
  private static void addWithNested(Class<?> c, List<Class<?>> out) {
    out.add(c);
    for (Class<?> nested : c.getDeclaredClasses()) {
      if (Modifier.isPublic(nested.getModifiers())) {
        addWithNested(nested, out);
      }
    }
  }

  @Test
  void noInternalTypeCrossesTheApi() throws Exception {
    List<Class<?>> api = apiClasses();
    assertTrue(api.contains(Ferry.class) && api.contains(NodeStatus.class) && api.contains(VolumeStatus.Frontend.class), "scanned " + api);
    List<String> leaks = new ArrayList<>();
    for (Class<?> c : api) {
      leaks.addAll(leaks(c));
    }
    assertEquals(List.of(), leaks);
  }

  /** The check itself must catch a leak, or it checks nothing. */
  @Test
  void theCheckFindsALeak() {
    record Leaky(org.apache.pekko.actor.typed.ActorRef<String> ref, io.ferry.query.node.LogicNode.NodeStatus status) {}
    List<String> leaks = leaks(Leaky.class);
    assertEquals(List.of("Leaky exposes org.apache.pekko.actor.typed.ActorRef", "Leaky exposes io.ferry.query.node.LogicNode$NodeStatus"), leaks);
  }

  /** The block halves' status records are actors-internal: an API record holding one is a leak. */
  @Test
  void theCheckFindsABlockStatusLeak() {
    record LeakyVolume(java.util.Optional<io.ferry.blocks.FrontendVolume.FrontendStatus> frontend, io.ferry.blocks.BackendVolume.BackendStatus backend) {}
    assertEquals(
        List.of("LeakyVolume exposes io.ferry.blocks.FrontendVolume$FrontendStatus", "LeakyVolume exposes io.ferry.blocks.BackendVolume$BackendStatus"),
        leaks(LeakyVolume.class));
  }
}
