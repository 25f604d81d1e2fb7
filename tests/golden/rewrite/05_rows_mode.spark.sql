-- engine: spark
-- user: alice
-- groups: researchers
-- in
SELECT station, measured_at, pm25 FROM air_quality WHERE pm25 > 75
-- out
SELECT
  air_quality.station AS station,
  air_quality.measured_at AS measured_at,
  air_quality.pm25 AS pm25
FROM (
  SELECT
    station,
    measured_at,
    pm25
  FROM global_temp.__files_2db8d1ba230e4f2e
) AS air_quality
WHERE
  air_quality.pm25 > 75
