package io.ferry.placement;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.regex.Pattern;

/** Names a site (a place with members: an edge location or a cloud region); placements map nodes to sites. */
public record Site(String name) implements Comparable<Site> {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public Site {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "a site name must be 1-63 lower-case letters, digits and '-' starting with a letter or digit, got '" + name + "'");
    }
  }

  public static Site of(String name) {
    return new Site(name);
  }

  @JsonValue
  @Override
  public String name() {
    return name;
  }

  @Override
  public int compareTo(Site o) {
    return name.compareTo(o.name);
  }

  @Override
  public String toString() {
    return name;
  }
}
