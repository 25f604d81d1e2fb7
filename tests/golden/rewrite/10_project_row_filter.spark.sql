-- engine: spark
-- user: alice
-- groups: researchers
-- project: gangnam-retail
-- in
SELECT industry, sum(sales_amount) AS sales FROM sales_by_location GROUP BY 1
-- cells __checked_0 of sales_by_location
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
  CAST(SUM(__sum__sales_amount) AS DOUBLE) AS sum__sales_amount,
  CAST(SUM(CAST(__sum__sales_amount AS DECIMAL(38, 6)) * __factor) AS DOUBLE) / CAST(1000000 AS DOUBLE) AS noisy__sales_amount,
  SUM(
    CAST(CAST(CAST(__sum__sales_amount AS DOUBLE) * CAST(__factor AS DOUBLE) AS DOUBLE) / CAST(1000000 AS DOUBLE) * CAST(CAST(__sum__sales_amount AS DOUBLE) * CAST(__factor AS DOUBLE) AS DOUBLE) AS DOUBLE) / CAST(1000000 AS DOUBLE)
  ) AS squares__sales_amount,
  SLICE(SORT_ARRAY(COLLECT_LIST(ABS(__sum__sales_amount)), FALSE), 1, 2) AS top__sales_amount,
  MIN(__sum__sales_amount) AS min__sales_amount,
  MAX(__sum__sales_amount) AS max__sales_amount,
  0 AS neutralised
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
      CAST(sales_by_location.industry AS STRING) AS k0,
      sales_by_location.__entity AS __entity,
      COUNT(*) AS __rows,
      SUM(sales_by_location.sales_amount) AS __sum__sales_amount
    FROM (
      SELECT
        industry,
        sales_amount,
        store_id AS __entity
      FROM global_temp.__files_9dd3323338b34830
      WHERE
        district IN ('Gangnam-gu')
    ) AS sales_by_location
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
    sales_by_location.industry AS k0
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
) AS __k0
LIMIT 250001
-- out
SELECT
  sales_by_location.k0 AS industry,
  sales_by_location.m0 AS sales
FROM __checked_0 AS sales_by_location
