-- engine: duckdb
-- user: alice
-- groups: researchers
-- in
WITH card_usage AS (SELECT district, count(*) AS n FROM card_usage GROUP BY 1)
SELECT * FROM card_usage WHERE n > 100
-- cells __checked_0 of card_usage
SELECT
  k0,
  COUNT(*) AS entities,
  CAST(SUM(__rows) AS BIGINT) AS rows,
  BIT_XOR(MD5_NUMBER_UPPER(CONCAT_WS(':', __entity, __rows))) AS cellkey,
  0 AS neutralised
FROM (
  SELECT
    card_usage.district AS k0,
    card_usage.__entity AS __entity,
    COUNT(*) AS __rows
  FROM (
    SELECT
      district,
      card_id AS __entity
    FROM READ_PARQUET(['/data/card_usage/month=2025-01/part-0.parquet'], hive_partitioning = FALSE)
  ) AS card_usage
  GROUP BY
    k0,
    __entity
) AS __per_entity
GROUP BY
  k0
LIMIT 250001
-- public keys of __checked_0
SELECT
  *
FROM (
  SELECT DISTINCT
    card_usage.district AS k0
  FROM (
    SELECT
      district
    FROM (VALUES
      ('Jongno-gu'),
      ('Jung-gu'),
      ('Yongsan-gu'),
      ('Seongdong-gu'),
      ('Gwangjin-gu'),
      ('Dongdaemun-gu'),
      ('Jungnang-gu'),
      ('Seongbuk-gu'),
      ('Gangbuk-gu'),
      ('Dobong-gu'),
      ('Nowon-gu'),
      ('Eunpyeong-gu'),
      ('Seodaemun-gu'),
      ('Mapo-gu'),
      ('Yangcheon-gu'),
      ('Gangseo-gu'),
      ('Guro-gu'),
      ('Geumcheon-gu'),
      ('Yeongdeungpo-gu'),
      ('Dongjak-gu'),
      ('Gwanak-gu'),
      ('Seocho-gu'),
      ('Gangnam-gu'),
      ('Songpa-gu'),
      ('Gangdong-gu')) AS __domain(district)
  ) AS card_usage
) AS __k0
LIMIT 250001
-- out
WITH card_usage AS (
  SELECT
    card_usage.k0 AS district,
    card_usage.m0 AS n
  FROM __checked_0 AS card_usage
)
SELECT
  card_usage.district AS district,
  card_usage.n AS n
FROM card_usage AS card_usage
WHERE
  card_usage.n > 100
