-- The demo's query in SQL (docs/sql.md): at each of two edge sites a seeded sensor stream is
-- filtered and aggregated in one-second tumbling windows; the owner column is PII, so it is
-- dropped before the window (the compiler drops columns a window does not use) and may not leave
-- the edge before that. The cloud collects both sites' windows. Compiles to the same graph as
-- examples/demo.json (SqlExamplesTest checks it).

CREATE TABLE `src-a` (
  `key`   STRING,
  `value` BIGINT,
  ts      TIMESTAMP(3),
  owner   STRING WITH ('pii' = 'true'),
  WATERMARK FOR ts AS ts - INTERVAL '0.2' SECOND
) WITH (
  'connector' = 'generator', 'seed' = '11', 'keys' = '16', 'count' = '5000',
  'start-ms' = '1700000000000', 'step-ms' = '2', 'disorder-ms' = '300',
  'site' = 'edge-a'
);

CREATE TABLE `src-b` (
  `key`   STRING,
  `value` BIGINT,
  ts      TIMESTAMP(3),
  owner   STRING WITH ('pii' = 'true'),
  WATERMARK FOR ts AS ts - INTERVAL '0.2' SECOND
) WITH (
  'connector' = 'generator', 'seed' = '23', 'keys' = '16', 'count' = '5000',
  'start-ms' = '1700000000000', 'step-ms' = '2', 'disorder-ms' = '300',
  'site' = 'edge-b'
);

CREATE TABLE `out` WITH ('connector' = 'collect', 'site' = 'cloud');

INSERT INTO `out`
SELECT /*+ SITE('edge-a') */ `key`, window_start, window_end,
       COUNT(*) AS n, SUM(`value`) AS total, MIN(`value`) AS low, MAX(`value`) AS high, AVG(`value`) AS mean
FROM TABLE(TUMBLE(TABLE `src-a`, DESCRIPTOR(ts), INTERVAL '1' SECOND))
WHERE `value` >= 100
GROUP BY `key`, window_start, window_end
UNION ALL
SELECT /*+ SITE('edge-b') */ `key`, window_start, window_end,
       COUNT(*) AS n, SUM(`value`) AS total, MIN(`value`) AS low, MAX(`value`) AS high, AVG(`value`) AS mean
FROM TABLE(TUMBLE(TABLE `src-b`, DESCRIPTOR(ts), INTERVAL '1' SECOND))
WHERE `value` >= 100
GROUP BY `key`, window_start, window_end;
