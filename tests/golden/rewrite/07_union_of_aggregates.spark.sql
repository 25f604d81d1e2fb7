-- engine: spark
-- user: alice
-- groups: researchers
-- in
SELECT 'card' AS source, count(*) AS n FROM card_usage
UNION ALL
SELECT 'sales', count(*) FROM sales_by_location
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
  0 AS neutralised
FROM (
  SELECT
    card_usage.__entity AS __entity,
    COUNT(*) AS __rows
  FROM (
    SELECT
      card_id AS __entity
    FROM global_temp.__files_906b30869e9b7739
  ) AS card_usage
  GROUP BY
    __entity
) AS __per_entity
-- cells __checked_1 of sales_by_location
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
  0 AS neutralised
FROM (
  SELECT
    sales_by_location.__entity AS __entity,
    COUNT(*) AS __rows
  FROM (
    SELECT
      store_id AS __entity
    FROM global_temp.__files_9dd3323338b34830
  ) AS sales_by_location
  GROUP BY
    __entity
) AS __per_entity
-- out
SELECT
  'card' AS source,
  card_usage.m0 AS n
FROM __checked_0 AS card_usage
UNION ALL
SELECT
  'sales' AS sales,
  sales_by_location.m0 AS _col_1
FROM __checked_1 AS sales_by_location
