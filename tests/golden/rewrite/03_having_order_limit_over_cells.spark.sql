-- engine: spark
-- user: alice
-- groups: researchers
-- in
SELECT district, sum(amount) AS total FROM card_usage GROUP BY 1 HAVING sum(amount) > 1000000 ORDER BY total DESC LIMIT 5
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
  CAST(SUM(__sum__amount) AS DOUBLE) AS sum__amount,
  CAST(SUM(CAST(__sum__amount AS DECIMAL(38, 6)) * __factor) AS DOUBLE) / CAST(1000000 AS DOUBLE) AS noisy__amount,
  SUM(
    CAST(CAST(CAST(__sum__amount AS DOUBLE) * CAST(__factor AS DOUBLE) AS DOUBLE) / CAST(1000000 AS DOUBLE) * CAST(CAST(__sum__amount AS DOUBLE) * CAST(__factor AS DOUBLE) AS DOUBLE) AS DOUBLE) / CAST(1000000 AS DOUBLE)
  ) AS squares__amount,
  SLICE(SORT_ARRAY(COLLECT_LIST(ABS(__sum__amount)), FALSE), 1, 2) AS top__amount,
  MIN(__sum__amount) AS min__amount,
  MAX(__sum__amount) AS max__amount,
  0 AS neutralised
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
      CAST(card_usage.district AS STRING) AS k0,
      card_usage.__entity AS __entity,
      COUNT(*) AS __rows,
      SUM(card_usage.amount) AS __sum__amount
    FROM (
      SELECT
        district,
        amount,
        card_id AS __entity
      FROM global_temp.__files_906b30869e9b7739
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
SELECT
  card_usage.k0 AS district,
  card_usage.m0 AS total
FROM __checked_0 AS card_usage
WHERE
  card_usage.m0 > 1000000
ORDER BY
  total DESC
LIMIT 5
