package io.ferry.sql;

import io.ferry.query.QueryCompiler;
import io.ferry.query.QueryException;
import io.ferry.query.QueryId;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.calcite.adapter.java.JavaTypeFactory;
import org.apache.calcite.config.CalciteConnectionConfigImpl;
import org.apache.calcite.config.CalciteConnectionProperty;
import org.apache.calcite.jdbc.CalciteSchema;
import org.apache.calcite.jdbc.JavaTypeFactoryImpl;
import org.apache.calcite.prepare.CalciteCatalogReader;
import org.apache.calcite.rel.type.RelDataType;
import org.apache.calcite.rel.type.RelDataTypeFactory;
import org.apache.calcite.runtime.CalciteContextException;
import org.apache.calcite.schema.impl.AbstractTable;
import org.apache.calcite.sql.SqlFunction;
import org.apache.calcite.sql.SqlFunctionCategory;
import org.apache.calcite.sql.SqlKind;
import org.apache.calcite.sql.SqlNode;
import org.apache.calcite.sql.SqlNodeList;
import org.apache.calcite.sql.fun.SqlStdOperatorTable;
import org.apache.calcite.sql.parser.SqlParseException;
import org.apache.calcite.sql.parser.SqlParser;
import org.apache.calcite.sql.type.OperandTypes;
import org.apache.calcite.sql.type.ReturnTypes;
import org.apache.calcite.sql.type.SqlTypeName;
import org.apache.calcite.sql.util.SqlOperatorTables;
import org.apache.calcite.sql.validate.SqlConformance;
import org.apache.calcite.sql.validate.SqlConformanceEnum;
import org.apache.calcite.sql.validate.SqlDelegatingConformance;
import org.apache.calcite.sql.validate.SqlValidator;
import org.apache.calcite.sql.validate.SqlValidatorUtil;

/**
 * Compiles streaming SQL (Flink's dialect: window table functions, {@code CREATE TABLE ... WITH},
 * {@code WATERMARK}) into Ferry's graph spec. Calcite parses and validates every query; Ferry
 * turns the validated tree into the same {@link io.ferry.query.QueryGraph} the JSON form gives, so
 * moves, once-only and placement work unchanged. Found by the runtime through ServiceLoader.
 */
public final class SqlCompiler implements QueryCompiler {
  /** Longest script compiled, so a runaway request cannot occupy the compiler. */
  public static final int SCRIPT_CHARS_MAX = 1_000_000;

  /** {@code MASK(text)}: the one-way hash a projection uses to strip PII. */
  static final SqlFunction MASK =
      new SqlFunction("MASK", SqlKind.OTHER_FUNCTION, ReturnTypes.ARG0_NULLABLE, null, OperandTypes.STRING, SqlFunctionCategory.STRING);

  @Override
  public String language() {
    return "sql";
  }

  @Override
  public Compiled compile(String text, QueryId id) {
    if (text.length() > SCRIPT_CHARS_MAX) {
      throw new SqlCompileException(1, 1, "the script has " + text.length() + " characters, more than " + SCRIPT_CHARS_MAX);
    }
    try {
      Script script = Script.read(text);
      if (script.queries().isBlank()) {
        throw new SqlCompileException(1, 1, "no query: write INSERT INTO sink SELECT ... (or a SELECT) after the CREATE TABLE statements");
      }
      SqlNodeList statements = SqlParser.create(script.queries(), Script.PARSER).parseStmtList();
      statements.forEach(FlinkSession::rewrite);
      if (statements.isEmpty()) {
        throw new SqlCompileException(1, 1, "no query: write INSERT INTO sink SELECT ... (or a SELECT) after the CREATE TABLE statements");
      }
      SqlValidator validator = validator(script.tables());
      return new Converter(id, script.tables(), validator, BuiltinConnectors.available()).convert(statements);
    } catch (SqlParseException e) {
      int line = e.getPos() == null ? 1 : Math.max(1, e.getPos().getLineNum());
      int column = e.getPos() == null ? 1 : Math.max(1, e.getPos().getColumnNum());
      throw new SqlCompileException(line, column, "syntax error: " + Tokens.firstLine(e.getMessage()));
    } catch (CalciteContextException e) {
      throw new SqlCompileException(Math.max(1, e.getPosLine()), Math.max(1, e.getPosColumn()), describe(e));
    } catch (QueryException e) {
      throw e;
    } catch (RuntimeException | StackOverflowError | AssertionError e) {
      // Calcite can fail in its own ways on odd input; the user still gets a line, not a trace.
      throw new SqlCompileException(1, 1, "unsupported construct: the SQL validator could not handle this query (" + e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : ": " + Tokens.firstLine(e.getMessage())) + ")");
    }
  }

  /** Calcite's message, said in the user's terms: which kind of problem, then Calcite's words. */
  static String describe(CalciteContextException e) {
    String m = e.getCause() != null && e.getCause().getMessage() != null ? e.getCause().getMessage() : String.valueOf(e.getMessage());
    m = Tokens.firstLine(m);
    if (m.contains("not found")) {
      return (m.startsWith("Column") ? "unknown column: " : m.startsWith("Object") || m.startsWith("Table") ? "unknown table: " : "unknown name: ") + m;
    }
    if (m.startsWith("Cannot apply") || m.contains("type") || m.startsWith("Cannot assign")) {
      return "type mismatch: " + m;
    }
    return m;
  }

  /** Calcite's default rules plus {@code a % b}, which Flink SQL users write. */
  static final SqlConformance CONFORMANCE =
      new SqlDelegatingConformance(SqlConformanceEnum.DEFAULT) {
        @Override
        public boolean isPercentRemainderAllowed() {
          return true;
        }
      };

  static SqlValidator validator(List<TableDef> tables) {
    JavaTypeFactory types = new JavaTypeFactoryImpl();
    CalciteSchema root = CalciteSchema.createRootSchema(false, false);
    for (TableDef t : tables) {
      root.add(t.name(), new AbstractTable() {
        @Override
        public RelDataType getRowType(RelDataTypeFactory f) {
          RelDataTypeFactory.Builder b = f.builder();
          for (TableDef.Column c : t.columns()) {
            b.add(c.name(), f.createTypeWithNullability(sqlType(f, c.type()), true));
          }
          return b.build();
        }
      });
    }
    // Flink spells VARCHAR as STRING; so may a CAST here.
    root.add("STRING", f -> f.createSqlType(SqlTypeName.VARCHAR));
    Properties props = new Properties();
    props.setProperty(CalciteConnectionProperty.CASE_SENSITIVE.camelName(), "true");
    CalciteCatalogReader catalog = new CalciteCatalogReader(root, List.of(), types, new CalciteConnectionConfigImpl(props));
    return SqlValidatorUtil.newValidator(
        SqlOperatorTables.chain(SqlStdOperatorTable.instance(), SqlOperatorTables.of(MASK), catalog),
        catalog,
        types,
        SqlValidator.Config.DEFAULT
            .withIdentifierExpansion(true)
            .withTypeCoercionEnabled(false)
            .withConformance(CONFORMANCE));
  }

  static RelDataType sqlType(RelDataTypeFactory f, io.ferry.query.FieldType t) {
    return switch (t) {
      case STRING -> f.createSqlType(SqlTypeName.VARCHAR);
      case LONG -> f.createSqlType(SqlTypeName.BIGINT);
      case DOUBLE -> f.createSqlType(SqlTypeName.DOUBLE);
      case BOOLEAN -> f.createSqlType(SqlTypeName.BOOLEAN);
      case TIMESTAMP -> f.createSqlType(SqlTypeName.TIMESTAMP, 3);
    };
  }
}
