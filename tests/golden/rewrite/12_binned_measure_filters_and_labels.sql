-- engine: duckdb
-- user: alice
-- groups: researchers
-- in
SELECT dayname(txn_date) AS day, strftime(txn_date, '%Y-%m') AS month, count(*) AS n
FROM card_usage WHERE amount >= 100000 AND category <> 'Golf' AND upper(district) IN ('JUNG-GU', 'MAPO-GU') GROUP BY ALL
-- cells __checked_0 of card_usage
SELECT
  k0,
  k1,
  COUNT(*) AS entities,
  CAST(SUM(__rows) AS BIGINT) AS rows,
  BIT_XOR(MD5_NUMBER_UPPER(CONCAT_WS(':', __entity, __rows))) AS cellkey
FROM (
  SELECT
    DAYNAME(card_usage.txn_date) AS k0,
    STRFTIME(card_usage.txn_date, '%Y-%m') AS k1,
    card_usage.__entity AS __entity,
    COUNT(*) AS __rows
  FROM (
    SELECT
      txn_date,
      district,
      category,
      amount,
      card_id AS __entity
    FROM READ_PARQUET(['/data/card_usage/month=2025-01/part-0.parquet'], hive_partitioning = FALSE)
  ) AS card_usage
  WHERE
    (
      CASE
        WHEN card_usage.amount < 0
        THEN 0
        WHEN card_usage.amount >= 1000000
        THEN 1000000
        ELSE card_usage.amount
      END >= 100000
      AND card_usage.category <> 'Golf'
    )
    AND UPPER(card_usage.district) IN ('JUNG-GU', 'MAPO-GU')
  GROUP BY
    k0,
    k1,
    __entity
) AS __per_entity
GROUP BY
  k0,
  k1
LIMIT 250001
-- public keys of __checked_0
SELECT
  *
FROM (
  SELECT DISTINCT
    DAYNAME(card_usage.txn_date) AS k0
  FROM (
    SELECT
      txn_date
    FROM (
      SELECT
        CAST(range AS DATE) AS txn_date
      FROM RANGE(CAST('2025-01-01' AS TIMESTAMP), CAST('2026-01-01' AS TIMESTAMP), INTERVAL '1' DAY)
    ) AS __domain
  ) AS card_usage
) AS __k0
CROSS JOIN (
  SELECT DISTINCT
    STRFTIME(card_usage.txn_date, '%Y-%m') AS k1
  FROM (
    SELECT
      txn_date
    FROM (
      SELECT
        CAST(range AS DATE) AS txn_date
      FROM RANGE(CAST('2025-01-01' AS TIMESTAMP), CAST('2026-01-01' AS TIMESTAMP), INTERVAL '1' DAY)
    ) AS __domain
  ) AS card_usage
) AS __k1
LIMIT 250001
-- out
SELECT
  card_usage.k0 AS day,
  card_usage.k1 AS month,
  card_usage.m0 AS n
FROM __checked_0 AS card_usage
