-- Nexmark q21: add channel id: bids with a channel id from the channel name or the URL's channel_id parameter.
-- The flat variant of q21.sql: the nexmark connector's 'table' = 'bid' form
-- computes what nexmark-flink's bid view over the events table computes
-- (the same stream: the same ids, prices, timestamps and strings). Since
-- the optimizer pushes the view's field accesses and event_type filter
-- into the nexmark scan, the view form generates no persons and auctions
-- and builds no ROW values either; what is left of the difference is the
-- view's computed dateTime (a CASE over the three kinds). The query text is q21.sql's.

CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  dateTime TIMESTAMP(3), extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'bid', 'first-event.rate' = '100000', 'events.num' = '10000000');

CREATE TABLE nexmark_q21 (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, channel_id STRING
) WITH ('connector' = 'blackhole');

INSERT INTO nexmark_q21
SELECT auction, bidder, price, channel,
  CASE
    WHEN LOWER(channel) = 'apple' THEN '0'
    WHEN LOWER(channel) = 'google' THEN '1'
    WHEN LOWER(channel) = 'facebook' THEN '2'
    WHEN LOWER(channel) = 'baidu' THEN '3'
    ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)
  END AS channel_id
FROM bid
WHERE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) IS NOT NULL
  OR LOWER(channel) IN ('apple', 'google', 'facebook', 'baidu');
