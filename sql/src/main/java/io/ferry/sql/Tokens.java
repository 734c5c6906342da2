package io.ferry.sql;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.calcite.sql.parser.impl.SimpleCharStream;
import org.apache.calcite.sql.parser.impl.SqlParserImplConstants;
import org.apache.calcite.sql.parser.impl.SqlParserImplTokenManager;
import org.apache.calcite.sql.parser.impl.Token;
import org.apache.calcite.sql.parser.impl.TokenMgrError;

/**
 * A script cut into tokens by Calcite's own lexer (quoting with back ticks, as in Flink SQL), so
 * strings, quoted names and comments are read exactly as the parser reads them. The DDL reader and
 * the statement splitter work on these tokens.
 */
final class Tokens {
  private static final Pattern POSITION = Pattern.compile("line (\\d+), column (\\d+)");

  /** One token: its kind (Calcite's constants), text and where it starts and ends (1-based, inclusive). */
  record Tok(int kind, String image, int line, int column, int endLine, int endColumn) {
    boolean is(String word) {
      return image.equalsIgnoreCase(word) && kind != SqlParserImplConstants.QUOTED_STRING
          && kind != SqlParserImplConstants.BACK_QUOTED_IDENTIFIER;
    }

    boolean isEof() {
      return kind == SqlParserImplConstants.EOF;
    }
  }

  private Tokens() {}

  /** Every token of {@code text}, ending with EOF; a character the lexer cannot read fails with its position. */
  static List<Tok> of(String text) {
    SqlParserImplTokenManager tm = new SqlParserImplTokenManager(new Chars(text), SqlParserImplConstants.BTID);
    List<Tok> out = new ArrayList<>();
    try {
      while (true) {
        Token t = tm.getNextToken();
        out.add(new Tok(t.kind, t.image, t.beginLine, t.beginColumn, t.endLine, t.endColumn));
        if (t.kind == SqlParserImplConstants.EOF) {
          return out;
        }
      }
    } catch (TokenMgrError e) {
      Matcher m = POSITION.matcher(String.valueOf(e.getMessage()));
      int line = 1;
      int column = 1;
      if (m.find()) {
        line = Integer.parseInt(m.group(1));
        column = Integer.parseInt(m.group(2));
      }
      // At the end of the text the lexer may name column 0 (or a line past the last): point at the
      // text's last character instead, so the position is always one the user can find.
      String[] lines = text.split("\n", -1);
      line = Math.max(1, Math.min(line, lines.length));
      column = Math.max(1, Math.min(column, lines[line - 1].length() + 1));
      String problem = firstLine(e.getMessage());
      if (problem.contains("<EOF>")) {
        problem = "the text ends inside a quoted string, a quoted identifier or a comment (" + problem + ")";
      }
      throw new SqlCompileException(line, column, "cannot read the text here: " + problem);
    }
  }

  static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return (nl < 0 ? s : s.substring(0, nl)).trim();
  }

  /** Calcite counts a tab as one column; so does Ferry, so positions match the parser's. */
  private static final class Chars extends SimpleCharStream {
    Chars(String text) {
      super(new StringReader(text));
      setTabSize(1);
    }
  }
}
