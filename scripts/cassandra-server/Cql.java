// A minimal CQL client for `scripts/cassandra cql` (there is no cqlsh here). It runs as a
// single-file Java program on the Cassandra server's classpath, which already carries the
// DataStax Java driver 3.x (cassandra-driver-core, shaded). Not part of any Ferry module.
//
//   java -cp <cassandra classpath> Cql.java HOST PORT "STATEMENT; STATEMENT; ..."
//   echo "STATEMENT;" | java -cp <cassandra classpath> Cql.java HOST PORT
//
// Statements are split on ';' at the end of a line. Each result set is printed as rows of
// column=value; exit status 1 on the first failing statement.
import com.datastax.driver.core.Cluster;
import com.datastax.driver.core.ColumnDefinitions;
import com.datastax.driver.core.ResultSet;
import com.datastax.driver.core.Row;
import com.datastax.driver.core.Session;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;

public class Cql {
  public static void main(String[] args) throws Exception {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    StringBuilder text = new StringBuilder();
    if (args.length > 2) {
      for (int i = 2; i < args.length; i++) text.append(args[i]).append('\n');
    } else {
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
      for (String line; (line = in.readLine()) != null; ) text.append(line).append('\n');
    }
    List<String> statements = new ArrayList<>();
    for (String s : text.toString().split(";\\s*(\\n|$)")) {
      if (!s.isBlank()) statements.add(s.trim());
    }
    try (Cluster cluster = Cluster.builder().addContactPoint(host).withPort(port)
            .withoutJMXReporting().withoutMetrics().build();
         Session session = cluster.connect()) {
      for (String stmt : statements) {
        try {
          ResultSet rs = session.execute(stmt);
          ColumnDefinitions cols = rs.getColumnDefinitions();
          int n = 0;
          for (Row row : rs) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < cols.size(); i++) {
              if (i > 0) sb.append(" | ");
              sb.append(cols.getName(i)).append('=').append(row.getObject(i));
            }
            System.out.println(sb);
            n++;
          }
          if (cols.size() > 0) System.out.println("(" + n + " rows)");
        } catch (RuntimeException e) {
          System.err.println("error in: " + stmt + "\n  " + e.getMessage());
          System.exit(1);
        }
      }
    }
  }
}
