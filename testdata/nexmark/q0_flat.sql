-- Nexmark q0: pass-through: every bid, projected. Measures the source and the framework.
-- The flat variant of q0.sql: the nexmark connector's 'table' = 'bid' form
-- computes what nexmark-flink's bid view over the events table computes
-- (the same stream: the same ids, prices, timestamps and strings). Since
-- the optimizer pushes the view's field accesses and event_type filter
-- into the nexmark scan, the view form generates no persons and auctions
-- and builds no ROW values either; what is left of the difference is the
-- view's computed dateTime (a CASE over the three kinds). The query text is q0.sql's.

CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  dateTime TIMESTAMP(3), extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'bid', 'first-event.rate' = '100000', 'events.num' = '10000000');

CREATE TABLE nexmark_q0 (
  auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra STRING
) WITH ('connector' = 'blackhole');

INSERT INTO nexmark_q0
SELECT auction, bidder, price, dateTime, extra FROM bid;
