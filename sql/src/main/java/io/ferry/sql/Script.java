package io.ferry.sql;

import io.ferry.query.FieldType;
import io.ferry.sql.Tokens.Tok;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.calcite.config.Lex;
import org.apache.calcite.sql.SqlIdentifier;
import org.apache.calcite.sql.SqlIntervalLiteral;
import org.apache.calcite.sql.SqlKind;
import org.apache.calcite.sql.SqlNode;
import org.apache.calcite.sql.SqlBasicCall;
import org.apache.calcite.sql.parser.SqlParseException;
import org.apache.calcite.sql.parser.SqlParser;
import org.apache.calcite.sql.parser.impl.SqlParserImplConstants;

/**
 * A SQL script split into its table declarations and the rest. {@code CREATE TABLE} in Flink's
 * form ({@code WITH} options, column options, {@code WATERMARK}) is not in Calcite's core grammar,
 * so Ferry reads its outer shape from Calcite's tokens and hands the watermark expression to
 * Calcite's expression parser; the query text keeps every position (declarations are blanked out,
 * newlines kept) so Calcite's errors point at the user's own lines and columns.
 */
record Script(List<TableDef> tables, String queries) {
  static final SqlParser.Config PARSER = SqlParser.config().withLex(Lex.JAVA).withConformance(SqlCompiler.CONFORMANCE);

  static Script read(String text) {
    List<Tok> toks = Tokens.of(text);
    int[] lineStarts = lineStarts(text);
    char[] queries = text.toCharArray();
    List<TableDef> tables = new ArrayList<>();
    int i = 0;
    while (!toks.get(i).isEof()) {
      int end = i;
      int depth = 0;
      while (!toks.get(end).isEof() && !(depth == 0 && toks.get(end).kind() == SqlParserImplConstants.SEMICOLON)) {
        int k = toks.get(end).kind();
        depth += k == SqlParserImplConstants.LPAREN ? 1 : k == SqlParserImplConstants.RPAREN ? -1 : 0;
        end++;
      }
      if (toks.get(i).is("CREATE")) {
        tables.add(new DdlReader(text, toks.subList(i, end), toks.get(end)).table());
        Tok last = toks.get(end).isEof() ? toks.get(end - 1) : toks.get(end);
        blank(queries, offset(lineStarts, toks.get(i).line(), toks.get(i).column()), offset(lineStarts, last.endLine(), last.endColumn()) + 1);
      }
      i = toks.get(end).isEof() ? end : end + 1;
    }
    Set<String> names = new HashSet<>();
    for (TableDef t : tables) {
      if (!names.add(t.name())) {
        throw t.error("declared twice");
      }
    }
    return new Script(tables, new String(queries));
  }

  private static void blank(char[] text, int from, int to) {
    for (int k = Math.max(0, from); k < Math.min(text.length, to); k++) {
      if (text[k] != '\n' && text[k] != '\r') {
        text[k] = ' ';
      }
    }
  }

  private static int[] lineStarts(String text) {
    List<Integer> starts = new ArrayList<>();
    starts.add(0);
    for (int k = 0; k < text.length(); k++) {
      if (text.charAt(k) == '\n') {
        starts.add(k + 1);
      }
    }
    return starts.stream().mapToInt(Integer::intValue).toArray();
  }

  private static int offset(int[] lineStarts, int line, int column) {
    return lineStarts[Math.min(line, lineStarts.length) - 1] + column - 1;
  }

  /** Reads one {@code CREATE TABLE name (columns, [WATERMARK ...]) [WITH (options)]} from its tokens. */
  private static final class DdlReader {
    private final String text;
    private final List<Tok> toks;
    private final Tok after;
    private int pos;

    DdlReader(String text, List<Tok> toks, Tok after) {
      this.text = text;
      this.toks = toks;
      this.after = after;
    }

    TableDef table() {
      Tok create = expectWord("CREATE");
      if (!peek().is("TABLE")) {
        throw error(peek(), "unsupported construct: only CREATE TABLE is supported, got CREATE " + peek().image());
      }
      next();
      String name = name("a table name");
      List<TableDef.Column> columns = new ArrayList<>();
      Optional<TableDef.Watermark> watermark = Optional.empty();
      Map<String, String> options = new LinkedHashMap<>();
      Set<String> seen = new HashSet<>();
      if (peek().kind() == SqlParserImplConstants.LPAREN) {
        next();
        while (true) {
          if (peek().is("WATERMARK")) {
            if (watermark.isPresent()) {
              throw error(peek(), "a table has at most one WATERMARK");
            }
            watermark = Optional.of(watermark());
          } else {
            TableDef.Column c = column();
            if (!seen.add(c.name())) {
              throw error(c.line(), c.column(), "column '" + c.name() + "' is declared twice");
            }
            columns.add(c);
          }
          Tok t = next();
          if (t.kind() == SqlParserImplConstants.RPAREN) {
            break;
          }
          if (t.kind() != SqlParserImplConstants.COMMA) {
            throw error(t, "expected ',' or ')' after a column, got " + show(t));
          }
        }
      }
      if (peek().is("WITH")) {
        next();
        options.putAll(options());
      }
      if (pos < toks.size()) {
        throw error(peek(), "unexpected " + show(peek()) + " after the table's options");
      }
      if (watermark.isPresent()) {
        TableDef.Watermark w = watermark.get();
        TableDef.Column time = columns.stream().filter(c -> c.name().equals(w.column())).findFirst()
            .orElseThrow(() -> error(w.line(), w.columnPos(), "unknown column '" + w.column() + "' in WATERMARK FOR"));
        if (time.type() != FieldType.TIMESTAMP) {
          throw error(w.line(), w.columnPos(), "type mismatch: the WATERMARK column '" + w.column() + "' must be a TIMESTAMP, it is " + time.type());
        }
      }
      // A table option lists PII columns too: 'pii-columns' = 'owner, email'.
      String piiColumns = options.get("pii-columns");
      if (piiColumns != null) {
        for (String p : piiColumns.split(",")) {
          String col = p.trim();
          int idx = -1;
          for (int k = 0; k < columns.size(); k++) {
            if (columns.get(k).name().equals(col)) {
              idx = k;
            }
          }
          if (idx < 0) {
            throw error(create, "table " + name + ": option 'pii-columns' names unknown column '" + col + "'");
          }
          TableDef.Column c = columns.get(idx);
          columns.set(idx, new TableDef.Column(c.name(), c.type(), true, c.line(), c.column()));
        }
      }
      return new TableDef(name, columns, watermark, options, create.line(), create.column());
    }

    private TableDef.Column column() {
      Tok at = peek();
      String name = name("a column name");
      Tok type = next();
      String t = type.image().toUpperCase(Locale.ROOT);
      FieldType ft =
          switch (t) {
            case "STRING", "VARCHAR", "CHAR" -> FieldType.STRING;
            case "BIGINT", "INT", "INTEGER", "SMALLINT", "TINYINT" -> FieldType.LONG;
            case "DOUBLE", "FLOAT", "REAL" -> FieldType.DOUBLE;
            case "BOOLEAN" -> FieldType.BOOLEAN;
            case "TIMESTAMP", "TIMESTAMP_LTZ" -> FieldType.TIMESTAMP;
            default -> throw error(type, "unknown type " + show(type) + " for column '" + name
                + "': use STRING, VARCHAR, BIGINT, INT, DOUBLE, BOOLEAN or TIMESTAMP(3)");
          };
      if (t.equals("DOUBLE") && peek().is("PRECISION")) {
        next();
      }
      if (peek().kind() == SqlParserImplConstants.LPAREN) {
        // Length or precision: VARCHAR(20), TIMESTAMP(3). Ferry's types have none; accepted and ignored.
        next();
        Tok n = next();
        if (n.kind() != SqlParserImplConstants.UNSIGNED_INTEGER_LITERAL || next().kind() != SqlParserImplConstants.RPAREN) {
          throw error(n, "expected a length or precision like (3) after " + t);
        }
      }
      if (ft == FieldType.TIMESTAMP && peek().is("WITHOUT")) {
        next();
        expectWord("TIME");
        expectWord("ZONE");
      }
      if (peek().is("NOT")) {
        next();
        expectWord("NULL");
      } else if (peek().is("NULL")) {
        next();
      }
      boolean pii = false;
      if (peek().is("WITH")) {
        Tok with = next();
        for (Map.Entry<String, String> o : options().entrySet()) {
          if (!o.getKey().equals("pii")) {
            throw error(with, "unknown column option '" + o.getKey() + "' for column '" + name + "': only 'pii' is known");
          }
          pii = bool(with, "pii", o.getValue());
        }
      }
      if (peek().is("COMMENT")) {
        next();
        Tok c = next();
        if (c.kind() != SqlParserImplConstants.QUOTED_STRING) {
          throw error(c, "expected a quoted comment after COMMENT");
        }
      }
      return new TableDef.Column(name, ft, pii, at.line(), at.column());
    }

    private TableDef.Watermark watermark() {
      Tok at = next();
      expectWord("FOR");
      Tok colTok = peek();
      String column = name("the watermark's time column");
      expectWord("AS");
      int from = pos;
      int depth = 0;
      while (pos < toks.size()) {
        int k = peek().kind();
        if (depth == 0 && (k == SqlParserImplConstants.COMMA || k == SqlParserImplConstants.RPAREN)) {
          break;
        }
        depth += k == SqlParserImplConstants.LPAREN ? 1 : k == SqlParserImplConstants.RPAREN ? -1 : 0;
        pos++;
      }
      if (from == pos) {
        throw error(peek(), "expected an expression after WATERMARK FOR " + column + " AS");
      }
      Tok first = toks.get(from);
      Tok last = toks.get(pos - 1);
      // Only the expression stays in the text, at its own place, so Calcite's positions are the user's.
      int[] starts = lineStarts(text);
      char[] only = text.toCharArray();
      blank(only, 0, offset(starts, first.line(), first.column()));
      blank(only, offset(starts, last.endLine(), last.endColumn()) + 1, only.length);
      SqlNode e;
      try {
        e = SqlParser.create(new String(only), PARSER).parseExpression();
      } catch (SqlParseException x) {
        throw new SqlCompileException(x.getPos().getLineNum(), x.getPos().getColumnNum(), "cannot parse the watermark expression: " + Tokens.firstLine(x.getMessage()));
      }
      String shape = "WATERMARK FOR " + column + " AS " + column + " - INTERVAL '5' SECOND (or AS " + column + ")";
      if (e instanceof SqlIdentifier id && id.isSimple() && id.getSimple().equals(column)) {
        return new TableDef.Watermark(column, 0, colTok.line(), colTok.column());
      }
      if (e.getKind() == SqlKind.MINUS && e instanceof SqlBasicCall c
          && c.operand(0) instanceof SqlIdentifier id && id.isSimple() && id.getSimple().equals(column)
          && c.operand(1) instanceof SqlIntervalLiteral lit) {
        Long millis = lit.getValueAs(Long.class);
        if (millis == null || millis < 0) {
          throw error(first, "the watermark's interval must not be negative");
        }
        return new TableDef.Watermark(column, millis, colTok.line(), colTok.column());
      }
      throw error(first, "unsupported watermark expression: write " + shape);
    }

    private Map<String, String> options() {
      Map<String, String> out = new LinkedHashMap<>();
      Tok open = next();
      if (open.kind() != SqlParserImplConstants.LPAREN) {
        throw error(open, "expected '(' after WITH");
      }
      while (true) {
        Tok k = next();
        if (k.kind() != SqlParserImplConstants.QUOTED_STRING) {
          throw error(k, "expected a quoted option name like 'connector', got " + show(k));
        }
        Tok eq = next();
        if (eq.kind() != SqlParserImplConstants.EQ) {
          throw error(eq, "expected '=' after option " + k.image());
        }
        Tok v = next();
        if (v.kind() != SqlParserImplConstants.QUOTED_STRING) {
          throw error(v, "expected a quoted value for option " + k.image() + ", got " + show(v));
        }
        if (out.put(unquote(k.image()), unquote(v.image())) != null) {
          throw error(k, "option " + k.image() + " is given twice");
        }
        Tok t = next();
        if (t.kind() == SqlParserImplConstants.RPAREN) {
          return out;
        }
        if (t.kind() != SqlParserImplConstants.COMMA) {
          throw error(t, "expected ',' or ')' in WITH options, got " + show(t));
        }
      }
    }

    private String name(String what) {
      Tok t = next();
      if (t.kind() == SqlParserImplConstants.BACK_QUOTED_IDENTIFIER) {
        return t.image().substring(1, t.image().length() - 1).replace("``", "`");
      }
      if (t.kind() == SqlParserImplConstants.IDENTIFIER || Character.isLetter(t.image().isEmpty() ? ' ' : t.image().charAt(0))) {
        if (t.kind() == SqlParserImplConstants.QUOTED_STRING) {
          throw error(t, "expected " + what + ", got " + show(t));
        }
        return t.image();
      }
      throw error(t, "expected " + what + ", got " + show(t));
    }

    private Tok expectWord(String word) {
      Tok t = next();
      if (!t.is(word)) {
        throw error(t, "expected " + word + ", got " + show(t));
      }
      return t;
    }

    private Tok peek() {
      return pos < toks.size() ? toks.get(pos) : after;
    }

    private Tok next() {
      Tok t = peek();
      if (pos < toks.size()) {
        pos++;
      }
      return t;
    }

    private static boolean bool(Tok at, String option, String value) {
      if (value.equalsIgnoreCase("true")) {
        return true;
      }
      if (value.equalsIgnoreCase("false")) {
        return false;
      }
      throw error(at, "option '" + option + "' must be 'true' or 'false', got '" + value + "'");
    }

    private static String unquote(String quoted) {
      return quoted.substring(1, quoted.length() - 1).replace("''", "'");
    }

    private static String show(Tok t) {
      return t.isEof() ? "the end of the statement" : t.kind() == SqlParserImplConstants.SEMICOLON ? "';'" : "'" + t.image() + "'";
    }

    private static SqlCompileException error(Tok t, String problem) {
      return new SqlCompileException(t.line(), t.column(), problem);
    }

    private static SqlCompileException error(int line, int column, String problem) {
      return new SqlCompileException(line, column, problem);
    }
  }
}
