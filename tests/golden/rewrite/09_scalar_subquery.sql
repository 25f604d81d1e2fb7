-- user: alice
-- groups: researchers
-- in
SELECT a.district, max(a.pm25) AS worst,
  (SELECT sum(amount) FROM card_usage AS c WHERE c.district = 'Jung-gu') AS jung_spend
FROM air_quality AS a GROUP BY 1
-- cells __checked_0 of card_usage
SELECT
  COUNT(*) AS entities,
  CAST(SUM(__rows) AS BIGINT) AS rows,
  BIT_XOR(HASH(__entity, __rows)) AS cellkey,
  CAST(SUM(__count__amount) AS BIGINT) AS count__amount,
  CAST(SUM(__sum__amount) AS DOUBLE) AS sum__amount,
  MAX(ABS(__sum__amount), 2) AS top__amount,
  MIN(__sum__amount) AS min__amount,
  MAX(__sum__amount) AS max__amount
FROM (
  SELECT
    c.__entity AS __entity,
    COUNT(*) AS __rows,
    COUNT(c.amount) AS __count__amount,
    SUM(c.amount) AS __sum__amount
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
  ) AS c
  WHERE
    c.district = 'Jung-gu'
  GROUP BY
    __entity
) AS __per_entity
-- out
SELECT
  a.district AS district,
  MAX(a.pm25) AS worst,
  (
    SELECT
      c.m0 AS _col_0
    FROM __checked_0 AS c
  ) AS jung_spend
FROM (
  SELECT
    station,
    district,
    measured_at,
    pm10,
    pm25,
    o3,
    no2,
    co,
    so2
  FROM READ_PARQUET(['/data/air_quality/month=2025-01/part-0.parquet'], hive_partitioning = FALSE)
) AS a
GROUP BY
  a.district
