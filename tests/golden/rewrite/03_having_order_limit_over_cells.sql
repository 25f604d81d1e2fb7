-- engine: duckdb
-- user: alice
-- groups: researchers
-- in
SELECT district, sum(amount) AS total FROM card_usage GROUP BY 1 HAVING sum(amount) > 1000000 ORDER BY total DESC LIMIT 5
-- cells __checked_0 of card_usage
SELECT
  k0,
  COUNT(*) AS entities,
  CAST(SUM(__rows) AS BIGINT) AS rows,
  BIT_XOR(MD5_NUMBER_UPPER(CONCAT_WS(':', __entity, __rows))) AS cellkey,
  CAST(SUM(__sum__amount) AS DOUBLE) AS sum__amount,
  CAST(SUM(CAST(__sum__amount AS DECIMAL(38, 6)) * __factor) AS DOUBLE) / 1000000 AS noisy__amount,
  SUM(
    CAST(__sum__amount AS DOUBLE) * CAST(__factor AS DOUBLE) / 1000000 * CAST(__sum__amount AS DOUBLE) * CAST(__factor AS DOUBLE) / 1000000
  ) AS squares__amount,
  MAX(ABS(__sum__amount), 2) AS top__amount,
  MIN(__sum__amount) AS min__amount,
  MAX(__sum__amount) AS max__amount,
  0 AS neutralised
FROM (
  SELECT
    *,
    CAST(FLOOR(
      CASE
        WHEN CAST(MD5_NUMBER_UPPER(CONCAT_WS(':', $noise_key, 'card_usage', __entity)) >> 11 AS DOUBLE) / 9007199254740992 < 0.5
        THEN 1 - (
          0.1 + 0.04999999999999999 * (
            2 * CAST(MD5_NUMBER_UPPER(CONCAT_WS(':', $noise_key, 'card_usage', __entity)) >> 11 AS DOUBLE) / 9007199254740992
          )
        )
        ELSE 1 + (
          0.1 + 0.04999999999999999 * (
            2 * CAST(MD5_NUMBER_UPPER(CONCAT_WS(':', $noise_key, 'card_usage', __entity)) >> 11 AS DOUBLE) / 9007199254740992 - 1
          )
        )
      END * 1000000 + 0.5
    ) AS BIGINT) AS __factor
  FROM (
    SELECT
      card_usage.district AS k0,
      card_usage.__entity AS __entity,
      COUNT(*) AS __rows,
      SUM(card_usage.amount) AS __sum__amount
    FROM (
      SELECT
        district,
        amount,
        card_id AS __entity
      FROM READ_PARQUET(['/data/card_usage/month=2025-01/part-0.parquet'], hive_partitioning = FALSE)
    ) AS card_usage
    GROUP BY
      k0,
      __entity
  ) AS __parts_of_entities
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
SELECT
  card_usage.k0 AS district,
  card_usage.m0 AS total
FROM __checked_0 AS card_usage
WHERE
  card_usage.m0 > 1000000
ORDER BY
  total DESC
LIMIT 5
