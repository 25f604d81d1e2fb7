-- engine: spark
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
    CAST(card_usage.district AS STRING) AS k0,
    card_usage.__entity AS __entity,
    COUNT(*) AS __rows
  FROM (
    SELECT
      district,
      card_id AS __entity
    FROM global_temp.__files_906b30869e9b7739
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
    FROM VALUES
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
      ('Gangdong-gu') AS __domain(district)
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
