-- Nexmark q2: selection: the bids on auctions whose id is a multiple of 123.
-- Written for Eddy from the query definitions of nexmark-flink. The flat
-- 'table' forms of the nexmark connector stand for nexmark-flink's person,
-- auction and bid views over its single events table.

CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  dateTime TIMESTAMP(3), extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'bid', 'first-event.rate' = '100000', 'events.num' = '10000000');

CREATE TABLE nexmark_q2 (
  auction BIGINT, price BIGINT
) WITH ('connector' = 'blackhole');

INSERT INTO nexmark_q2
SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
