-- engine: spark
-- user: bob
-- groups: researchers
-- in
SELECT district, industry, sum(sales_amount) AS sales FROM sales_by_location WHERE month = DATE '2025-03-01' GROUP BY ALL
-- cells __checked_0 of sales_by_location
SELECT
  k0,
  k1,
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
  CAST(SUM(__sum__sales_amount) AS DOUBLE) AS sum__sales_amount,
  CAST(SUM(CAST(__sum__sales_amount AS DECIMAL(38, 6)) * __factor) AS DOUBLE) / CAST(1000000 AS DOUBLE) AS noisy__sales_amount,
  SUM(
    CAST(CAST(CAST(__sum__sales_amount AS DOUBLE) * CAST(__factor AS DOUBLE) AS DOUBLE) / CAST(1000000 AS DOUBLE) * CAST(CAST(__sum__sales_amount AS DOUBLE) * CAST(__factor AS DOUBLE) AS DOUBLE) AS DOUBLE) / CAST(1000000 AS DOUBLE)
  ) AS squares__sales_amount,
  SLICE(SORT_ARRAY(COLLECT_LIST(ABS(__sum__sales_amount)), FALSE), 1, 2) AS top__sales_amount,
  MIN(__sum__sales_amount) AS min__sales_amount,
  MAX(__sum__sales_amount) AS max__sales_amount,
  CAST(MAX(CASE WHEN __effect_0 BETWEEN 1 AND 19 THEN 1 ELSE 0 END) AS BIGINT) AS neutralised,
  k0 IN ('Gangnam-gu') AS covered_0
FROM (
  SELECT
    *,
    CAST(FLOOR(
      CASE
        WHEN CAST(SHIFTRIGHTUNSIGNED(
          CAST(CONV(
            CONCAT(
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 15, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 13, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 11, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 9, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 7, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 5, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 3, 2),
              SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 1, 2)
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
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 15, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 13, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 11, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 9, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 7, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 5, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 3, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 1, 2)
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
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 15, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 13, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 11, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 9, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 7, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 5, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 3, 2),
                  SUBSTRING(MD5(CONCAT_WS(':', :noise_key, 'sales_by_location', __entity)), 1, 2)
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
      k0,
      k1,
      __entity,
      SUM(__rows) AS __rows,
      SUM(__sum__sales_amount) AS __sum__sales_amount,
      MAX(__effect_0) AS __effect_0
    FROM (
      SELECT
        *,
        CAST(SUM(CASE WHEN __fails_0 THEN 1 ELSE 0 END) OVER (PARTITION BY k0, k1) AS BIGINT) AS __effect_0
      FROM (
        SELECT
          CAST(sales_by_location.district AS STRING) AS k0,
          CAST(sales_by_location.industry AS STRING) AS k1,
          sales_by_location.__entity AS __entity,
          NOT COALESCE((
            sales_by_location.month = CAST('2025-03-01' AS DATE)
          ), FALSE) AS __fails_0,
          COUNT(*) AS __rows,
          SUM(sales_by_location.sales_amount) AS __sum__sales_amount
        FROM (
          SELECT
            month,
            district,
            industry,
            sales_amount,
            store_id AS __entity
          FROM global_temp.__files_9dd3323338b34830
        ) AS sales_by_location
        GROUP BY
          k0,
          k1,
          __entity,
          __fails_0
      ) AS __parts
    ) AS __judged
    WHERE
      NOT (
        __fails_0 AND __effect_0 >= 20
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
    sales_by_location.district AS k0
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
  ) AS sales_by_location
) AS __k0
CROSS JOIN (
  SELECT DISTINCT
    sales_by_location.industry AS k1
  FROM (
    SELECT
      industry
    FROM VALUES
      ('Korean restaurant'),
      ('Chinese restaurant'),
      ('Japanese restaurant'),
      ('Western restaurant'),
      ('Bakery'),
      ('Fast food'),
      ('Chicken restaurant'),
      ('Snack bar'),
      ('Pub'),
      ('Coffee and beverage'),
      ('General hospital'),
      ('General clinic'),
      ('Dental clinic'),
      ('Korean medicine clinic'),
      ('Veterinary clinic'),
      ('Law office'),
      ('Tax accounting office'),
      ('Tutoring academy'),
      ('Foreign language academy'),
      ('Arts academy'),
      ('Sports academy'),
      ('Golf practice range'),
      ('Fitness center'),
      ('Billiards hall'),
      ('PC room'),
      ('Karaoke'),
      ('Real-estate agency'),
      ('Hotel'),
      ('Motel'),
      ('Guesthouse'),
      ('Goshiwon'),
      ('Hair salon'),
      ('Nail salon'),
      ('Skin care shop'),
      ('Laundry'),
      ('Auto repair'),
      ('Car wash'),
      ('Appliance repair'),
      ('Photo studio'),
      ('Sauna'),
      ('Department store'),
      ('Hypermarket'),
      ('Supermarket'),
      ('Convenience store'),
      ('Computer store'),
      ('Mobile phone store'),
      ('Butcher'),
      ('Fruit and vegetables'),
      ('Side dish shop'),
      ('Rice cake shop'),
      ('Fish shop'),
      ('Stationery'),
      ('Bookstore'),
      ('Florist'),
      ('Pharmacy'),
      ('Optician'),
      ('Cosmetics'),
      ('Sporting goods'),
      ('Clothing'),
      ('Shoes'),
      ('Bags'),
      ('Jewelry'),
      ('Furniture'),
      ('Household goods'),
      ('Electronics'),
      ('Interior') AS __domain(industry)
  ) AS sales_by_location
) AS __k1
LIMIT 250001
-- out
SELECT
  sales_by_location.k0 AS district,
  sales_by_location.k1 AS industry,
  sales_by_location.m0 AS sales
FROM __checked_0 AS sales_by_location
