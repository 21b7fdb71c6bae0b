import Foundation
import TestSupport

/// The typed test table: every natively encoded type, edge values, NULLs, awkward text and arrays.
let typedTableDDL = #"""
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy ''quoted''', 'a,b "c"');
CREATE TABLE everything (
  i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric, n2 numeric(10,2),
  t text, vc varchar(20), c char(5), nm name, b bool, d date, ts timestamp, tstz timestamptz,
  tm time, tmtz timetz, iv interval, u uuid, j json, jb jsonb, by bytea, ip inet, net cidr, mac macaddr,
  ia int[], ta text[], m mood, ma mood[], "odd, ""name""" text, tsa timestamptz[], na numeric[], ba bool[],
  ja jsonb[], fa float8[], da date[], ua uuid[], bya bytea[]);
INSERT INTO everything VALUES
  (-32768, -2147483648, -9223372036854775808, '-Infinity', 'NaN', 'NaN', -99999999.99,
   E'unicode ✓ €, newline\n tab\t quote'' dquote" backslash\\ cr\r bell\007', 'varchar', 'ab', 'name', false,
   '-infinity', '0001-01-01 00:00:00', '-infinity', '00:00:00', '00:00:00+14', '-178000000 years',
   '00000000-0000-0000-0000-000000000000', '{"a": [1, 2.50, null],   "b":"x"}', '{"b": 1.50, "a": "x"}', '\x00ff10',
   '::1', '10.0.0.0/8', '08:00:2b:01:02:03', '{1,NULL,-3}', '{"a",NULL,"with \"quote\"","b,c","NULL","", " sp ", "back\\slash", "{}"}', 'sad', '{sad,NULL,ok}',
   ',', '{"2024-01-01 00:00:00+00",NULL,infinity}', '{1.50,NaN,-Infinity,NULL}', '{t,f,NULL}', '{"{\"a\": 1}","[1, 2]","\"s\""}',
   '{NaN,1e+300,-0,0.1}', '{2024-01-01,-infinity,"0044-03-15 BC"}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '{"\\x00",NULL}'),
  (32767, 2147483647, 9223372036854775807, 'Infinity', '-Infinity', '123456789012345678901234567890.123456789012345',
   99999999.99, '', '', 'abcde', '', true, 'infinity', '294276-12-31 23:59:59.999999', 'infinity', '24:00:00',
   '23:59:59.999999-12', '1 year 2 mons 3 days 04:05:06.789', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '[]', '{}', '',
   '2001:db8::1/64', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', '{}', '{}', 'happy ''quoted''', '{}', '"', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'),
  (0, 0, 0, 1.5e-45, 4.9e-324, -0.000000000000000000000000000000000000000001, 0, 'plain', 'v', 'x', 'n', NULL,
   '2024-02-29', '2024-02-29 12:34:56.5', '2024-02-29 12:34:56.5+05:30', '12:00', '12:00+01', '-1 day -00:00:01',
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '"str"', '"text"', '\x', '192.168.1.1/24', '192.168.0.0/16',
   '00:00:00:00:00:00', '{1,2,3}', '{"x"}', 'a,b "c"', '{"happy ''quoted''","a,b \"c\""}', '\.', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (1, 2, 3, 123456, 1e15, 1.500, 1.5, 'NULL', 'x', NULL, NULL, true, '0044-03-15 BC', '4713-11-24 00:00:00 BC',
   '1999-12-31 23:59:59.000001-08', '23:59:59.5', '10:00:00+05:30:15', '1 mon -00:00:00.5', NULL, '1.50', '[1.50, 1e2, "\u00e9"]',
   '\xdeadbeef', '::ffff:1.2.3.4', '::/0', NULL, NULL, NULL, NULL, NULL, E'two\nlines', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (NULL, NULL, NULL, 1234567, 0.1, 0.0001, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-1 years -2 mons +3 days -04:00:00',
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE copy_of_everything (LIKE everything);
"""#

/// Session settings under which PostgreSQL's own output is the reference (ARCHITECTURE.md).
let referenceOptions = "-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=1"

/// Compares two JSON Lines files value by value: keys in order, numbers as their exact tokens.
let jsonCompareScript = #"""
import json, sys
def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line, object_pairs_hook=lambda p: ("obj", list(p)),
                           parse_float=lambda s: ("num", s), parse_int=lambda s: ("num", s),
                           parse_constant=lambda s: ("const", s)) for line in f]
a, b = load(sys.argv[1]), load(sys.argv[2])
if len(a) != len(b):
    print("row counts differ:", len(a), len(b)); sys.exit(1)
bad = [i + 1 for i, (x, y) in enumerate(zip(a, b)) if x != y]
for i in bad:
    print("row", i, "differs:", a[i - 1], "vs", b[i - 1])
sys.exit(1 if bad else 0)
"""#

/// 20,000 seeded random rows: floats over the whole exponent range (and integers beyond 2^53, where
/// the shortest text can sit on a rounding boundary; short decimals and integers across the
/// fixed-notation limits 1e-4, 1e6 and 1e15), numerics of any scale, dates and timestamps
/// from 4713 BC on, intervals, times and addresses.
let randomTableDDL = """
    SELECT setseed(0.7);
    CREATE TABLE rnd AS SELECT
      (random() - 0.5) * 10 ^ (random() * 600 - 300)::int AS f8,
      ((random() - 0.5) * 10 ^ (random() * 70 - 35)::int)::float4 AS f4,
      ('x' || lpad(to_hex((random() * 4294967295)::bigint), 8, '0') || lpad(to_hex((random() * 4294967295)::bigint), 8, '0'))::bit(64)::bigint::float8 AS bits8,
      ((random() * 16777216 * 1024)::int8)::float4 AS bits4,
      round((random() * 2e15)::numeric, (random() * 8)::int - 3)::float8 AS f8fixed,
      (random() * 0.0003)::float8 AS f8small,
      round((random() * 2e6)::numeric, (random() * 5)::int - 1)::float4 AS f4fixed,
      round(((random() - 0.5) * 10 ^ (random() * 40 - 10)::int)::numeric, (random() * 30)::int) AS n,
      timestamp '4713-01-01 00:00:00 BC' + random() * interval '70000000 days' AS ts,
      timestamptz '2000-01-01' + (random() - 0.5) * interval '100000 days' AS tstz,
      date '2000-01-01' + ((random() - 0.5) * 3000000)::int AS d,
      make_interval(years => (random() * 200 - 100)::int, months => (random() * 30 - 15)::int, days => (random() * 60 - 30)::int,
                    secs => (random() - 0.5) * 1e6) AS iv,
      (random() * 86400 || ' seconds')::interval::time AS tm,
      ('::' || to_hex((random() * 65535)::int) || ':' || to_hex((random() * 65535)::int))::inet AS ip6,
      (((random() * 255)::int) || '.' || ((random() * 255)::int) || '.0.0/' || (16 + (random() * 16)::int))::inet AS ip4
    FROM generate_series(1, 20000);
    CREATE TABLE copy_of_rnd (LIKE rnd);
    """
