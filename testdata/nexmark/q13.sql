-- Nexmark q13: bounded side input join: every bid with the value of its auction in a 10,000-row file table.
-- Written for Eddy from nexmark-flink's query definitions, over its single
-- events table and the person, auction and bid views of nexmark-flink's DDL.

CREATE TABLE events (
  event_type INT,
  person ROW<id BIGINT, name STRING, emailAddress STRING, creditCard STRING, city STRING, state STRING,
    dateTime TIMESTAMP(3), extra STRING>,
  auction ROW<id BIGINT, itemName STRING, description STRING, initialBid BIGINT, reserve BIGINT,
    dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra STRING>,
  bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
    dateTime TIMESTAMP(3), extra STRING>,
  dateTime AS CASE
    WHEN event_type = 0 THEN person.dateTime
    WHEN event_type = 1 THEN auction.dateTime
    ELSE bid.dateTime
  END,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'events', 'first-event.rate' = '100000', 'events.num' = '10000000');

CREATE VIEW person AS
SELECT person.id, person.name, person.emailAddress, person.creditCard, person.city, person.state,
  dateTime, person.extra
FROM events WHERE event_type = 0;

CREATE VIEW auction AS
SELECT auction.id, auction.itemName, auction.description, auction.initialBid, auction.reserve,
  dateTime, auction.expires, auction.seller, auction.category, auction.extra
FROM events WHERE event_type = 1;

CREATE VIEW bid AS
SELECT bid.auction, bid.bidder, bid.price, bid.channel, bid.url, dateTime, bid.extra
FROM events WHERE event_type = 2;

CREATE TABLE side_input (
  `key` BIGINT,
  `value` STRING
) WITH (
  'connector' = 'filesystem',
  'path' = 'testdata/nexmark/side_input.csv',
  'format' = 'csv'
);

CREATE TABLE nexmark_q13 (
  auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), `value` STRING
) WITH ('connector' = 'blackhole');

-- nexmark-flink joins ON mod(B.auction, 10000) = S.key. Eddy's planner
-- takes only column = column conjuncts as join keys, so that form compares
-- every bid with all 10,000 side rows (100 times slower on 3,000 events,
-- worse with more); the key is computed in B instead, which means the same.
INSERT INTO nexmark_q13
SELECT B.auction, B.bidder, B.price, B.dateTime, S.`value`
FROM (SELECT *, MOD(auction, 10000) AS side_key, PROCTIME() AS p_time FROM bid) AS B
JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
ON B.side_key = S.`key`;
