-- engine: spark
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
  CAST(SUM(__sum__amount) AS DOUBLE) AS sum__amount,
  CAST(SUM(CAST(__sum__amount AS DECIMAL(38, 6)) * __factor) AS DOUBLE) / CAST(1000000 AS DOUBLE) AS noisy__amount,
  SUM(
    CAST(CAST(CAST(__sum__amount AS DOUBLE) * CAST(__factor AS DOUBLE) AS DOUBLE) / CAST(1000000 AS DOUBLE) * CAST(CAST(__sum__amount AS DOUBLE) * CAST(__factor AS DOUBLE) AS DOUBLE) AS DOUBLE) / CAST(1000000 AS DOUBLE)
  ) AS squares__amount,
  SLICE(SORT_ARRAY(COLLECT_LIST(ABS(__sum__amount)), FALSE), 1, 2) AS top__amount,
  MIN(__sum__amount) AS min__amount,
  MAX(__sum__amount) AS max__amount,
  CAST(MAX(CASE WHEN __effect_0 BETWEEN 1 AND 9 THEN 1 ELSE 0 END) AS BIGINT) AS neutralised
FROM (
  SELECT
    *,
    CAST(FLOOR(
      CASE
        WHEN CAST(SHIFTRIGHTUNSIGNED(
          CAST(CONV(
            CONCAT(
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 15, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 13, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 11, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 9, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 7, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 5, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 3, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 1, 2)
            ),
            16,
            -10
          ) AS BIGINT),
          11
        ) AS DOUBLE) / CAST(9007199254740992 AS DOUBLE) < 0.5
        THEN 1 - (
          0.1 + 0.04999999999999999 * (
            CAST(2 * CAST(SHIFTRIGHTUNSIGNED(
              CAST(CONV(
                CONCAT(
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 15, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 13, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 11, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 9, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 7, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 5, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 3, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 1, 2)
                ),
                16,
                -10
              ) AS BIGINT),
              11
            ) AS DOUBLE) AS DOUBLE) / CAST(9007199254740992 AS DOUBLE)
          )
        )
        ELSE 1 + (
          0.1 + 0.04999999999999999 * (
            CAST(2 * CAST(SHIFTRIGHTUNSIGNED(
              CAST(CONV(
                CONCAT(
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 15, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 13, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 11, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 9, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 7, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 5, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 3, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'card_usage', __entity)), 1, 2)
                ),
                16,
                -10
              ) AS BIGINT),
              11
            ) AS DOUBLE) AS DOUBLE) / CAST(9007199254740992 AS DOUBLE) - 1
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
          FROM global_temp.__files_906b30869e9b7739
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
  FROM global_temp.__files_2db8d1ba230e4f2e
) AS a
GROUP BY
  a.district
