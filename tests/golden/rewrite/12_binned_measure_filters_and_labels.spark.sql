-- engine: spark
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
  BIT_XOR(
    CAST(CONV(
      CONCAT(
        SUBSTRING(MD5(CONCAT_WS(':', __entity, __rows)), 15, 2),
        SUBSTRING(MD5(CONCAT_WS(':', __entity, __rows)), 13, 2),
        SUBSTRING(MD5(CONCAT_WS(':', __entity, __rows)), 11, 2),
        SUBSTRING(MD5(CONCAT_WS(':', __entity, __rows)), 9, 2),
        SUBSTRING(MD5(CONCAT_WS(':', __entity, __rows)), 7, 2),
        SUBSTRING(MD5(CONCAT_WS(':', __entity, __rows)), 5, 2),
        SUBSTRING(MD5(CONCAT_WS(':', __entity, __rows)), 3, 2),
        SUBSTRING(MD5(CONCAT_WS(':', __entity, __rows)), 1, 2)
      ),
      16,
      -10
    ) AS BIGINT)
  ) AS cellkey
FROM (
  SELECT
    CAST(DATE_FORMAT(card_usage.txn_date, 'EEEE') AS STRING) AS k0,
    CAST(DATE_FORMAT(card_usage.txn_date, 'yyyy-MM') AS STRING) AS k1,
    card_usage.__entity AS __entity,
    COUNT(*) AS __rows
  FROM (
    SELECT
      txn_date,
      district,
      category,
      amount,
      card_id AS __entity
    FROM global_temp.__files_906b30869e9b7739
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
    DATE_FORMAT(card_usage.txn_date, 'EEEE') AS k0
  FROM (
    SELECT
      txn_date
    FROM (
      SELECT
        CAST(v AS DATE) AS txn_date
      FROM (
        SELECT
          EXPLODE(
            SEQUENCE(CAST('2025-01-01' AS DATE), CAST('2025-12-31' AS DATE), INTERVAL '1' DAY)
          ) AS v
      )
    ) AS __domain
  ) AS card_usage
) AS __k0
CROSS JOIN (
  SELECT DISTINCT
    DATE_FORMAT(card_usage.txn_date, 'yyyy-MM') AS k1
  FROM (
    SELECT
      txn_date
    FROM (
      SELECT
        CAST(v AS DATE) AS txn_date
      FROM (
        SELECT
          EXPLODE(
            SEQUENCE(CAST('2025-01-01' AS DATE), CAST('2025-12-31' AS DATE), INTERVAL '1' DAY)
          ) AS v
      )
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
