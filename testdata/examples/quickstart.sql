-- Eddy quickstart: generate orders, keep the large ones and write them as
-- CSV files, then print a preview. Like Flink's filesystem sink, running it
-- again adds new part files next to the old ones.

SET 'parallelism.default' = '2';
-- Wait for each INSERT job to finish before the next statement runs, so
-- the SELECT below sees the complete output.
SET 'table.dml-sync' = 'true';

CREATE TEMPORARY TABLE orders (
  order_id    BIGINT,
  customer_id INT,
  amount      DECIMAL(10, 2),
  currency    STRING,
  order_time  AS TO_TIMESTAMP(FROM_UNIXTIME(1767225600 + order_id)),
  WATERMARK FOR order_time AS order_time - INTERVAL '5' SECOND
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '10000000',
  'fields.order_id.kind' = 'sequence',
  'fields.order_id.start' = '1',
  'fields.order_id.end' = '100000',
  'fields.customer_id.min' = '1',
  'fields.customer_id.max' = '500',
  'fields.amount.min' = '1',
  'fields.amount.max' = '1000',
  'fields.currency.length' = '3',
  'seed' = '42'
);

CREATE TEMPORARY TABLE large_orders (
  order_id    BIGINT,
  customer    STRING,
  amount_eur  DECIMAL(12, 2),
  order_hour  INT,
  order_time  TIMESTAMP(3)
) WITH (
  'connector' = 'filesystem',
  'path' = '/tmp/eddy-quickstart/large_orders',
  'format' = 'csv'
);

-- A filtering, projecting job at parallelism 2.
INSERT INTO large_orders
SELECT
  order_id,
  CONCAT('customer-', CAST(customer_id AS STRING)),
  CAST(amount * 0.92 AS DECIMAL(12, 2)),
  CAST(HOUR(order_time) AS INT),
  order_time
FROM orders
WHERE amount > 900 AND MOD(order_id, 2) = 0;

-- The plan of the job above: the filter and projection are one Calc,
-- chained to the scan, at parallelism 2.
EXPLAIN
INSERT INTO large_orders
SELECT order_id, CONCAT('customer-', CAST(customer_id AS STRING)),
       CAST(amount * 0.92 AS DECIMAL(12, 2)), CAST(HOUR(order_time) AS INT), order_time
FROM orders
WHERE amount > 900 AND MOD(order_id, 2) = 0;

-- A preview of the first large orders, printed the way Flink's print
-- connector does (the prefix is the subtask that printed the row).
CREATE TEMPORARY TABLE preview (
  order_id BIGINT,
  customer STRING,
  amount   DECIMAL(10, 2)
) WITH ('connector' = 'print');

INSERT INTO preview
SELECT order_id, UPPER(CONCAT('customer-', CAST(customer_id AS STRING))), amount
FROM orders
WHERE amount > 900 AND order_id <= 300;
