-- engine: duckdb
-- user: alice
-- groups: researchers
-- in
SELECT home_district, date_trunc('month', txn_date) AS month, floor(amount / 10000) * 10000 AS band, count(*) AS n
FROM card_usage GROUP BY ALL
-- cells __checked_0 of card_usage
SELECT
  k0,
  k1,
  k2,
  COUNT(*) AS entities,
  CAST(SUM(__rows) AS BIGINT) AS rows,
  BIT_XOR(MD5_NUMBER_UPPER(CONCAT_WS(':', __entity, __rows))) AS cellkey,
  0 AS neutralised
FROM (
  SELECT
    card_usage.home_district AS k0,
    DATE_TRUNC('MONTH', card_usage.txn_date) AS k1,
    FLOOR(
      CASE
        WHEN card_usage.amount < 0
        THEN 0
        WHEN card_usage.amount >= 1000000
        THEN 1000000
        ELSE card_usage.amount
      END / 10000
    ) * 10000 AS k2,
    card_usage.__entity AS __entity,
    COUNT(*) AS __rows
  FROM (
    SELECT
      txn_date,
      amount,
      CASE
        WHEN home_district = 'Dobong-gu'
        THEN 'Dongbuk-gwon'
        WHEN home_district = 'Dongdaemun-gu'
        THEN 'Dongbuk-gwon'
        WHEN home_district = 'Dongjak-gu'
        THEN 'Seonam-gwon'
        WHEN home_district = 'Eunpyeong-gu'
        THEN 'Seobuk-gwon'
        WHEN home_district = 'Gangbuk-gu'
        THEN 'Dongbuk-gwon'
        WHEN home_district = 'Gangdong-gu'
        THEN 'Dongnam-gwon'
        WHEN home_district = 'Gangnam-gu'
        THEN 'Dongnam-gwon'
        WHEN home_district = 'Gangseo-gu'
        THEN 'Seonam-gwon'
        WHEN home_district = 'Geumcheon-gu'
        THEN 'Seonam-gwon'
        WHEN home_district = 'Guro-gu'
        THEN 'Seonam-gwon'
        WHEN home_district = 'Gwanak-gu'
        THEN 'Seonam-gwon'
        WHEN home_district = 'Gwangjin-gu'
        THEN 'Dongbuk-gwon'
        WHEN home_district = 'Jongno-gu'
        THEN 'Dosim-gwon'
        WHEN home_district = 'Jung-gu'
        THEN 'Dosim-gwon'
        WHEN home_district = 'Jungnang-gu'
        THEN 'Dongbuk-gwon'
        WHEN home_district = 'Mapo-gu'
        THEN 'Seobuk-gwon'
        WHEN home_district = 'Nowon-gu'
        THEN 'Dongbuk-gwon'
        WHEN home_district = 'Seocho-gu'
        THEN 'Dongnam-gwon'
        WHEN home_district = 'Seodaemun-gu'
        THEN 'Seobuk-gwon'
        WHEN home_district = 'Seongbuk-gu'
        THEN 'Dongbuk-gwon'
        WHEN home_district = 'Seongdong-gu'
        THEN 'Dongbuk-gwon'
        WHEN home_district = 'Songpa-gu'
        THEN 'Dongnam-gwon'
        WHEN home_district = 'Yangcheon-gu'
        THEN 'Seonam-gwon'
        WHEN home_district = 'Yeongdeungpo-gu'
        THEN 'Seonam-gwon'
        WHEN home_district = 'Yongsan-gu'
        THEN 'Dosim-gwon'
        ELSE NULL
      END AS home_district,
      card_id AS __entity
    FROM READ_PARQUET(['/data/card_usage/month=2025-01/part-0.parquet'], hive_partitioning = FALSE)
  ) AS card_usage
  GROUP BY
    k0,
    k1,
    k2,
    __entity
) AS __per_entity
GROUP BY
  k0,
  k1,
  k2
LIMIT 250001
-- out
SELECT
  card_usage.k0 AS home_district,
  card_usage.k1 AS month,
  card_usage.k2 AS band,
  card_usage.m0 AS n
FROM __checked_0 AS card_usage
