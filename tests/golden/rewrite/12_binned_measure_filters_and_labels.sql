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
  BIT_XOR(MD5_NUMBER_UPPER(CONCAT_WS(':', __entity, __rows))) AS cellkey,
  CAST(MAX(CASE WHEN __effect_0 BETWEEN 1 AND 9 THEN 1 ELSE 0 END) + MAX(CASE WHEN __effect_1 BETWEEN 1 AND 9 THEN 1 ELSE 0 END) + MAX(CASE WHEN __effect_2 BETWEEN 1 AND 9 THEN 1 ELSE 0 END) AS BIGINT) AS neutralised
FROM (
  SELECT
    k0,
    k1,
    __entity,
    SUM(__rows) AS __rows,
    MAX(__effect_0) AS __effect_0,
    MAX(__effect_1) AS __effect_1,
    MAX(__effect_2) AS __effect_2
  FROM (
    SELECT
      *,
      CAST(SUM(CASE WHEN __fails_0 AND NOT __fails_1 AND NOT __fails_2 THEN 1 ELSE 0 END) OVER (PARTITION BY k0, k1) AS BIGINT) AS __effect_0,
      CAST(SUM(CASE WHEN NOT __fails_0 AND __fails_1 AND NOT __fails_2 THEN 1 ELSE 0 END) OVER (PARTITION BY k0, k1) AS BIGINT) AS __effect_1,
      CAST(SUM(CASE WHEN NOT __fails_0 AND NOT __fails_1 AND __fails_2 THEN 1 ELSE 0 END) OVER (PARTITION BY k0, k1) AS BIGINT) AS __effect_2
    FROM (
      SELECT
        DAYNAME(card_usage.txn_date) AS k0,
        STRFTIME(card_usage.txn_date, '%Y-%m') AS k1,
        card_usage.__entity AS __entity,
        NOT COALESCE(
          (
            CASE
              WHEN card_usage.amount < 0
              THEN 0
              WHEN card_usage.amount >= 1000000
              THEN 1000000
              ELSE card_usage.amount
            END >= 100000
          ),
          FALSE
        ) AS __fails_0,
        NOT COALESCE((
          card_usage.category <> 'Golf'
        ), FALSE) AS __fails_1,
        NOT COALESCE((
          UPPER(card_usage.district) IN ('JUNG-GU', 'MAPO-GU')
        ), FALSE) AS __fails_2,
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
      GROUP BY
        k0,
        k1,
        __entity,
        __fails_0,
        __fails_1,
        __fails_2
    ) AS __parts
  ) AS __judged
  WHERE
    NOT (
      __fails_0 AND __effect_0 >= 10
    )
    AND NOT (
      __fails_1 AND __effect_1 >= 10
    )
    AND NOT (
      __fails_2 AND __effect_2 >= 10
    )
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
