package io.ferry.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import java.lang.reflect.RecordComponent;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The one place request bodies become records: Jackson binds the JSON object to the request record, the
 * record's constructor checks its fields ({@link BadRequest#text} and the like), and every way a
 * body can be wrong (empty, malformed, not an object, an unknown or mistyped field, a value the
 * record refuses) becomes one {@link BadRequest} naming the field.
 */
final class RequestBodies {
  /** Integers are Longs, as Ferry's field types are (filter literals in a query graph). Unknown fields are refused so a misspelt one is not silently ignored. */
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .addModule(new Jdk8Module())
          .enable(DeserializationFeature.USE_LONG_FOR_INTS)
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .build();

  private RequestBodies() {}

  /**
   * Binds {@code body} to {@code type}; {@code what} names the request ("a migration instruction")
   * and {@code example} shows one, for the messages.
   */
  static <T extends Record> T read(String body, Class<T> type, String what, String example) {
    if (body.isBlank()) {
      throw new BadRequest(Optional.empty(), "the request body must be " + what + " like " + example);
    }
    JsonNode tree;
    try {
      tree = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      // A limit the parser enforces (nesting depth, number length) comes without a location.
      String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + " column " + e.getLocation().getColumnNr();
      throw new BadRequest(Optional.empty(), "malformed JSON" + where + ": " + e.getOriginalMessage() + "; expected " + example);
    }
    if (tree == null || !tree.isObject()) {
      throw new BadRequest(Optional.empty(), "the request body must be a JSON object like " + example);
    }
    // Checked before binding, so the answer names the unknown field rather than a field it displaced.
    Set<String> known = new TreeSet<>();
    for (RecordComponent c : type.getRecordComponents()) {
      known.add(c.getName());
    }
    for (Iterator<String> names = tree.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!known.contains(name)) {
        throw BadRequest.field(name, "unknown field '" + name + "'; " + what + " has " + known);
      }
    }
    try {
      return JSON.treeToValue(tree, type);
    } catch (ValueInstantiationException e) {
      if (e.getCause() instanceof BadRequest bad) {
        throw bad;
      }
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new BadRequest(field(e), "cannot read " + what + ": " + cause.getMessage());
    } catch (UnrecognizedPropertyException e) {
      throw new BadRequest(field(e), "unknown field '" + String.join(".", path(e)) + "' in " + what);
    } catch (MismatchedInputException e) {
      throw new BadRequest(field(e), "field '" + String.join(".", path(e)) + "' has the wrong type: " + e.getOriginalMessage());
    } catch (JsonProcessingException e) {
      throw new BadRequest(field(e), "cannot read " + what + ": " + e.getOriginalMessage());
    }
  }

  /** The top-level field a binding error is about, if it is about one. */
  private static Optional<String> field(JsonMappingException e) {
    return e.getPath().stream().map(JsonMappingException.Reference::getFieldName).filter(f -> f != null).findFirst();
  }

  private static Optional<String> field(JsonProcessingException e) {
    return e instanceof JsonMappingException m ? field(m) : Optional.empty();
  }

  private static List<String> path(JsonMappingException e) {
    return e.getPath().stream().map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]").toList();
  }
}
