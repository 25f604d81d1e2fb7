-- engine: duckdb
-- user: alice
-- groups: researchers
-- project: gangnam-retail
-- in
SELECT c.card_id, c.merchant_id, c.amount
FROM card_usage AS c
WHERE c.category = 'Cafes and bakeries'
-- out
SELECT
  c.card_id AS card_id,
  c.merchant_id AS merchant_id,
  c.amount AS amount
FROM (
  SELECT
    LEFT(
      SHA256(
        UNHEX($pseudonym_outer) || UNHEX(SHA256(UNHEX($pseudonym_inner) || ENCODE(CAST(card_id AS TEXT))))
      ),
      32
    ) AS card_id,
    category,
    LEFT(
      SHA256(
        UNHEX($pseudonym_outer) || UNHEX(SHA256(UNHEX($pseudonym_inner) || ENCODE(CAST(merchant_id AS TEXT))))
      ),
      32
    ) AS merchant_id,
    amount
  FROM READ_PARQUET(['/data/card_usage/month=2025-01/part-0.parquet'], hive_partitioning = FALSE)
  WHERE
    district IN ('Gangnam-gu')
) AS c
WHERE
  c.category = 'Cafes and bakeries'
