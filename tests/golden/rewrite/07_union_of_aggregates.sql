-- user: alice
-- groups: researchers
-- in
SELECT 'card' AS source, count(*) AS n FROM card_usage
UNION ALL
SELECT 'sales', count(*) FROM sales_by_location
-- cells __checked_0 of card_usage
SELECT
  COUNT(*) AS entities,
  CAST(SUM(__rows) AS BIGINT) AS rows,
  BIT_XOR(HASH(__entity, __rows)) AS cellkey
FROM (
  SELECT
    card_usage.__entity AS __entity,
    COUNT(*) AS __rows
  FROM (
    SELECT
      txn_time,
      txn_date,
      hour,
      district,
      dong,
      category,
      amount,
      age_band,
      gender,
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
    __entity
) AS __per_entity
-- cells __checked_1 of sales_by_location
SELECT
  COUNT(*) AS entities,
  CAST(SUM(__rows) AS BIGINT) AS rows,
  BIT_XOR(HASH(__entity, __rows)) AS cellkey
FROM (
  SELECT
    sales_by_location.__entity AS __entity,
    COUNT(*) AS __rows
  FROM (
    SELECT
      month,
      district,
      commercial_area,
      industry,
      sales_amount,
      sales_count,
      weekday_amount,
      weekend_amount,
      amount_00_06,
      amount_06_11,
      amount_11_14,
      amount_14_17,
      amount_17_21,
      amount_21_24,
      store_id AS __entity
    FROM READ_PARQUET(
      ['/data/sales_by_location/month=2025-01/part-0.parquet'],
      hive_partitioning = FALSE
    )
  ) AS sales_by_location
  GROUP BY
    __entity
) AS __per_entity
-- out
SELECT
  'card' AS source,
  card_usage.m0 AS n
FROM __checked_0 AS card_usage
UNION ALL
SELECT
  'sales' AS sales,
  sales_by_location.m0 AS _col_1
FROM __checked_1 AS sales_by_location
