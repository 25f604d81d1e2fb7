-- engine: duckdb
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
  BIT_XOR(MD5_NUMBER_UPPER(CONCAT_WS(':', __entity, __rows))) AS cellkey,
  CAST(SUM(__sum__sales_amount) AS DOUBLE) AS sum__sales_amount,
  CAST(SUM(CAST(__sum__sales_amount AS DECIMAL(38, 6)) * __factor) AS DOUBLE) / 1000000 AS noisy__sales_amount,
  SUM(
    CAST(__sum__sales_amount AS DOUBLE) * CAST(__factor AS DOUBLE) / 1000000 * CAST(__sum__sales_amount AS DOUBLE) * CAST(__factor AS DOUBLE) / 1000000
  ) AS squares__sales_amount,
  MAX(ABS(__sum__sales_amount), 2) AS top__sales_amount,
  MIN(__sum__sales_amount) AS min__sales_amount,
  MAX(__sum__sales_amount) AS max__sales_amount,
  0 AS neutralised
FROM (
  SELECT
    *,
    CAST(FLOOR(
      CASE
        WHEN CAST(MD5_NUMBER_UPPER(CONCAT_WS(':', $noise_key, 'sales_by_location', __entity)) >> 11 AS DOUBLE) / 9007199254740992 < 0.5
        THEN 1 - (
          0.1 + 0.04999999999999999 * (
            2 * CAST(MD5_NUMBER_UPPER(CONCAT_WS(':', $noise_key, 'sales_by_location', __entity)) >> 11 AS DOUBLE) / 9007199254740992
          )
        )
        ELSE 1 + (
          0.1 + 0.04999999999999999 * (
            2 * CAST(MD5_NUMBER_UPPER(CONCAT_WS(':', $noise_key, 'sales_by_location', __entity)) >> 11 AS DOUBLE) / 9007199254740992 - 1
          )
        )
      END * 1000000 + 0.5
    ) AS BIGINT) AS __factor
  FROM (
    SELECT
      sales_by_location.industry AS k0,
      sales_by_location.__entity AS __entity,
      COUNT(*) AS __rows,
      SUM(sales_by_location.sales_amount) AS __sum__sales_amount
    FROM (
      SELECT
        industry,
        sales_amount,
        store_id AS __entity
      FROM READ_PARQUET(
        ['/data/sales_by_location/month=2025-01/part-0.parquet'],
        hive_partitioning = FALSE
      )
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
    FROM (VALUES
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
      ('Interior')) AS __domain(industry)
  ) AS sales_by_location
) AS __k0
LIMIT 250001
-- out
SELECT
  sales_by_location.k0 AS industry,
  sales_by_location.m0 AS sales
FROM __checked_0 AS sales_by_location
