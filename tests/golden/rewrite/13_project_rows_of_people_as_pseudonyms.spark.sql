-- engine: spark
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
      SHA2(
        CONCAT(
          UNHEX(:pseudonym_outer),
          UNHEX(
            SHA2(CONCAT(UNHEX(:pseudonym_inner), ENCODE(CAST(card_id AS STRING), 'UTF-8')), 256)
          )
        ),
        256
      ),
      32
    ) AS card_id,
    category,
    LEFT(
      SHA2(
        CONCAT(
          UNHEX(:pseudonym_outer),
          UNHEX(
            SHA2(CONCAT(UNHEX(:pseudonym_inner), ENCODE(CAST(merchant_id AS STRING), 'UTF-8')), 256)
          )
        ),
        256
      ),
      32
    ) AS merchant_id,
    amount
  FROM global_temp.__files_906b30869e9b7739
  WHERE
    district IN ('Gangnam-gu')
) AS c
WHERE
  c.category = 'Cafes and bakeries'
