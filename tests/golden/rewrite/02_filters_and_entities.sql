-- engine: duckdb
-- user: alice
-- groups: researchers
-- in
SELECT category, age_band, count(DISTINCT card_id) AS cards, avg(amount) AS mean
FROM card_usage
WHERE district IN ('Jongno-gu', 'Jung-gu') AND txn_date >= DATE '2025-03-01'
GROUP BY ALL
-- cells __checked_0 of card_usage
SELECT
  k0,
  k1,
  COUNT(*) AS entities,
  CAST(SUM(__rows) AS BIGINT) AS rows,
  BIT_XOR(MD5_NUMBER_UPPER(CONCAT_WS(':', __entity, __rows))) AS cellkey,
  CAST(SUM(__count__amount) AS BIGINT) AS count__amount,
  CAST(SUM(__sum__amount) AS DOUBLE) AS sum__amount,
  CAST(SUM(CAST(__sum__amount AS DECIMAL(38, 6)) * __factor) AS DOUBLE) / 1000000 AS noisy__amount,
  SUM(
    CAST(__sum__amount AS DOUBLE) * CAST(__factor AS DOUBLE) / 1000000 * CAST(__sum__amount AS DOUBLE) * CAST(__factor AS DOUBLE) / 1000000
  ) AS squares__amount,
  MAX(ABS(__sum__amount), 2) AS top__amount,
  MIN(__sum__amount) AS min__amount,
  MAX(__sum__amount) AS max__amount,
  CAST(MAX(CASE WHEN __effect_0 BETWEEN 1 AND 9 THEN 1 ELSE 0 END) + MAX(CASE WHEN __effect_1 BETWEEN 1 AND 9 THEN 1 ELSE 0 END) AS BIGINT) AS neutralised
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
      k0,
      k1,
      __entity,
      SUM(__rows) AS __rows,
      SUM(__count__amount) AS __count__amount,
      SUM(__sum__amount) AS __sum__amount,
      MAX(__effect_0) AS __effect_0,
      MAX(__effect_1) AS __effect_1
    FROM (
      SELECT
        *,
        CAST(SUM(CASE WHEN __fails_0 AND NOT __fails_1 THEN 1 ELSE 0 END) OVER (PARTITION BY k0, k1) AS BIGINT) AS __effect_0,
        CAST(SUM(CASE WHEN NOT __fails_0 AND __fails_1 THEN 1 ELSE 0 END) OVER (PARTITION BY k0, k1) AS BIGINT) AS __effect_1
      FROM (
        SELECT
          card_usage.category AS k0,
          card_usage.age_band AS k1,
          card_usage.__entity AS __entity,
          NOT COALESCE((
            card_usage.district IN ('Jongno-gu', 'Jung-gu')
          ), FALSE) AS __fails_0,
          NOT COALESCE((
            card_usage.txn_date >= CAST('2025-03-01' AS DATE)
          ), FALSE) AS __fails_1,
          COUNT(*) AS __rows,
          COUNT(card_usage.amount) AS __count__amount,
          SUM(card_usage.amount) AS __sum__amount
        FROM (
          SELECT
            txn_date,
            district,
            category,
            amount,
            age_band,
            card_id AS __entity
          FROM READ_PARQUET(['/data/card_usage/month=2025-01/part-0.parquet'], hive_partitioning = FALSE)
        ) AS card_usage
        GROUP BY
          k0,
          k1,
          __entity,
          __fails_0,
          __fails_1
      ) AS __parts
    ) AS __judged
    WHERE
      NOT (
        __fails_0 AND __effect_0 >= 10
      )
      AND NOT (
        __fails_1 AND __effect_1 >= 10
      )
    GROUP BY
      k0,
      k1,
      __entity
  ) AS __parts_of_entities
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
    card_usage.category AS k0
  FROM (
    SELECT
      category
    FROM (VALUES
      ('Restaurants'),
      ('Cafes and bakeries'),
      ('Convenience stores'),
      ('Supermarkets'),
      ('Bars and pubs'),
      ('Fast food'),
      ('Department stores'),
      ('Luxury goods'),
      ('Jewelry and watches'),
      ('Clothing'),
      ('Cosmetics'),
      ('Pharmacies'),
      ('Clinics and hospitals'),
      ('Fuel stations'),
      ('Taxis and transport'),
      ('Books and stationery'),
      ('Electronics'),
      ('Sports and fitness'),
      ('Academies'),
      ('Hotels'),
      ('Cinemas and leisure'),
      ('Beauty salons'),
      ('Golf'),
      ('Furniture and interior')) AS __domain(category)
  ) AS card_usage
) AS __k0
CROSS JOIN (
  SELECT DISTINCT
    card_usage.age_band AS k1
  FROM (
    SELECT
      age_band
    FROM (VALUES
      ('20s'),
      ('30s'),
      ('40s'),
      ('50s'),
      ('60s'),
      ('70s')) AS __domain(age_band)
  ) AS card_usage
) AS __k1
LIMIT 250001
-- out
SELECT
  card_usage.k0 AS category,
  card_usage.k1 AS age_band,
  card_usage.m0 AS cards,
  card_usage.m1 AS mean
FROM __checked_0 AS card_usage
