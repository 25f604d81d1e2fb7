-- engine: spark
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
  ) AS cellkey,
  0 AS neutralised
FROM (
  SELECT
    CAST(card_usage.home_district AS STRING) AS k0,
    CAST(DATE_TRUNC('MONTH', card_usage.txn_date) AS TIMESTAMP_NTZ) AS k1,
    CAST(FLOOR(
      CAST(CASE
        WHEN card_usage.amount < 0
        THEN 0
        WHEN card_usage.amount >= 1000000
        THEN 1000000
        ELSE card_usage.amount
      END AS DOUBLE) / CAST(10000 AS DOUBLE)
    ) * 10000 AS DOUBLE) AS k2,
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
    FROM global_temp.__files_906b30869e9b7739
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
