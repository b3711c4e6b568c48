-- Nexmark q14: calculation: expensive bids in euros, with the time of day and the number of 'c's in extra.
-- The flat variant of q14.sql: the nexmark connector's 'table' = 'bid' form
-- computes what nexmark-flink's bid view over the events table computes
-- (the same stream: the same ids, prices, timestamps and strings). Since
-- the optimizer pushes the view's field accesses and event_type filter
-- into the nexmark scan, the view form generates no persons and auctions
-- and builds no ROW values either; what is left of the difference is the
-- view's computed dateTime (a CASE over the three kinds). The query text is q14.sql's.

CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  dateTime TIMESTAMP(3), extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'bid', 'first-event.rate' = '100000', 'events.num' = '10000000');

CREATE TABLE nexmark_q14 (
  auction BIGINT, bidder BIGINT, price DECIMAL(23, 3), bidTimeType STRING,
  dateTime TIMESTAMP(3), extra STRING, c_counts BIGINT
) WITH ('connector' = 'blackhole');

-- nexmark-flink counts the 'c's with a Java UDF, count_char(extra, 'c');
-- the built-in string functions compute the same.
INSERT INTO nexmark_q14
SELECT auction, bidder, 0.908 * price AS price,
  CASE
    WHEN HOUR(dateTime) >= 8 AND HOUR(dateTime) <= 18 THEN 'dayTime'
    WHEN HOUR(dateTime) <= 6 OR HOUR(dateTime) >= 20 THEN 'nightTime'
    ELSE 'otherTime'
  END AS bidTimeType,
  dateTime, extra,
  CHAR_LENGTH(extra) - CHAR_LENGTH(REPLACE(extra, 'c', '')) AS c_counts
FROM bid
WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
