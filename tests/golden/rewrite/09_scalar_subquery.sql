-- engine: duckdb
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
  BIT_XOR(MD5_NUMBER_UPPER(CONCAT_WS(':', __entity, __rows))) AS cellkey,
  CAST(SUM(__sum__amount) AS DOUBLE) AS sum__amount,
  CAST(SUM(CAST(__sum__amount AS DECIMAL(38, 6)) * __factor) AS DOUBLE) / 1000000 AS noisy__amount,
  SUM(
    CAST(__sum__amount AS DOUBLE) * CAST(__factor AS DOUBLE) / 1000000 * CAST(__sum__amount AS DOUBLE) * CAST(__factor AS DOUBLE) / 1000000
  ) AS squares__amount,
  MAX(ABS(__sum__amount), 2) AS top__amount,
  MIN(__sum__amount) AS min__amount,
  MAX(__sum__amount) AS max__amount,
  CAST(MAX(CASE WHEN __effect_0 BETWEEN 1 AND 9 THEN 1 ELSE 0 END) AS BIGINT) AS neutralised
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
      __entity,
      SUM(__rows) AS __rows,
      SUM(__sum__amount) AS __sum__amount,
      MAX(__effect_0) AS __effect_0
    FROM (
      SELECT
        *,
        CAST(SUM(CASE WHEN __fails_0 THEN 1 ELSE 0 END) OVER () AS BIGINT) AS __effect_0
      FROM (
        SELECT
          c.__entity AS __entity,
          NOT COALESCE((
            c.district = 'Jung-gu'
          ), FALSE) AS __fails_0,
          COUNT(*) AS __rows,
          SUM(c.amount) AS __sum__amount
        FROM (
          SELECT
            district,
            amount,
            card_id AS __entity
          FROM READ_PARQUET(['/data/card_usage/month=2025-01/part-0.parquet'], hive_partitioning = FALSE)
        ) AS c
        GROUP BY
          __entity,
          __fails_0
      ) AS __parts
    ) AS __judged
    WHERE
      NOT (
        __fails_0 AND __effect_0 >= 10
      )
    GROUP BY
      __entity
  ) AS __parts_of_entities
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
    district,
    pm25
  FROM READ_PARQUET(['/data/air_quality/month=2025-01/part-0.parquet'], hive_partitioning = FALSE)
) AS a
GROUP BY
  a.district
