-- Sample data for the demo: a table of flights partitioned by day (declarative range partitions),
-- 10 days of January 2024, 20,000 rows a day, with typical column types.
DROP TABLE IF EXISTS flights;
CREATE TABLE flights (
  id          bigint NOT NULL,
  callsign    text NOT NULL,
  departure   timestamptz NOT NULL,
  lat         double precision,
  lon         double precision,
  altitude    integer,
  on_ground   boolean NOT NULL,
  extra       jsonb,
  fare        numeric(10,2),
  flight_uuid uuid NOT NULL,
  PRIMARY KEY (id, departure)
) PARTITION BY RANGE (departure);
DO $$
DECLARE d date;
BEGIN
  FOR d IN SELECT generate_series('2024-01-01'::date, '2024-01-10'::date, interval '1 day')::date LOOP
    EXECUTE format('CREATE TABLE flights_%s PARTITION OF flights FOR VALUES FROM (%L) TO (%L)',
                   to_char(d, 'YYYYMMDD'), d::timestamptz, (d + 1)::timestamptz);
  END LOOP;
END $$;
SET TIME ZONE 'UTC';
SELECT setseed(0.42);
INSERT INTO flights
SELECT g,
       (ARRAY['UAL','DAL','AAL','KLM','BAW'])[1 + g % 5] || lpad((g % 9973)::text, 4, '0'),
       '2024-01-01 00:00:00+00'::timestamptz + ((g - 1) * interval '4.32 seconds'),
       CASE WHEN g % 50 = 0 THEN NULL ELSE round((random() * 180 - 90)::numeric, 6)::double precision END,
       CASE WHEN g % 50 = 0 THEN NULL ELSE round((random() * 360 - 180)::numeric, 6)::double precision END,
       CASE WHEN g % 7 = 0 THEN NULL ELSE (random() * 41000)::int END,
       (g % 7 = 0),
       CASE WHEN g % 20 = 0 THEN NULL ELSE jsonb_build_object('squawk', lpad(((g * 7) % 7777)::text, 4, '0'),
                                                             'source', (ARRAY['adsb','mlat'])[1 + g % 2]) END,
       CASE WHEN g % 10 = 0 THEN NULL ELSE round((random() * 2000)::numeric, 2) END,
       md5(g::text)::uuid
FROM generate_series(1, 200000) AS g;
ANALYZE flights;
