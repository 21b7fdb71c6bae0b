"""Writes the bench's 2M flight rows as raw column files (and is imported by the pyarrow side).

Columns follow ../shared/bench/flights.sql: id int64, callsign text, departure timestamptz,
lat/lon double (2 % null), altitude int32 (1/7 null), on_ground bool, extra json text (5 % null),
fare numeric(10,2) (10 % null), flight_uuid uuid. Deterministic (fixed seed).
"""
import hashlib, json, os, sys
import numpy as np

PREFIXES = ['UAL', 'DAL', 'AAL', 'SWA', 'BAW', 'DLH', 'AFR', 'KLM', 'RYR', 'EZY']
SOURCES = ['adsb', 'mlat', 'acars', 'satcom']
BASE_US = 1704067200 * 1_000_000  # 2024-01-01 00:00:00 UTC


def columns(n):
    rng = np.random.default_rng(42)
    g = np.arange(1, n + 1, dtype=np.int64)
    cols = {}
    cols['id'] = (g, None)
    cols['callsign'] = ([PREFIXES[i % 10] + str(i % 9973).zfill(4) for i in g.tolist()], None)
    cols['departure'] = (BASE_US + (g - 1) * 432_000, None)
    lat = np.round(rng.random(n) * 180 - 90, 6)
    lon = np.round(rng.random(n) * 360 - 180, 6)
    valid50 = (g % 50) != 0
    cols['lat'] = (lat, valid50)
    cols['lon'] = (lon, valid50)
    cols['altitude'] = (np.round(rng.random(n) * 41000).astype(np.int32), (g % 7) != 0)
    cols['on_ground'] = ((g % 7) == 0, None)
    speed = np.round(rng.random(n) * 550, 1)
    extra = []
    for i, s in zip(g.tolist(), speed.tolist()):
        extra.append(json.dumps({'tags': ['t%d' % (i % 13), 't%d' % (i % 5)], 'tail': 'N%d' % (i % 99999), 'speed': s,
                                 'source': SOURCES[i % 4], 'squawk': str(i * 7 % 7777).zfill(4)}))
    cols['extra'] = (extra, (g % 20) != 0)
    cols['fare'] = (np.round(rng.random(n) * 200000).astype(np.int64), (g % 10) != 0)  # cents
    cols['flight_uuid'] = ([hashlib.md5(str(i).encode()).digest() for i in g.tolist()], None)
    return cols


def dump(cols, directory):
    os.makedirs(directory, exist_ok=True)
    for name, (values, valid) in cols.items():
        if isinstance(values, list):
            if isinstance(values[0], bytes) and len(values[0]) == 16:
                with open(os.path.join(directory, name + '.fixed'), 'wb') as f:
                    f.write(b''.join(values))
            else:
                data = [v.encode() for v in values]
                offsets = np.zeros(len(data) + 1, dtype=np.int64)
                np.cumsum([len(d) for d in data], out=offsets[1:])
                offsets.tofile(os.path.join(directory, name + '.off'))
                with open(os.path.join(directory, name + '.dat'), 'wb') as f:
                    f.write(b''.join(data))
        else:
            ext = {np.dtype('int64'): '.i64', np.dtype('int32'): '.i32', np.dtype('float64'): '.f64', np.dtype('bool'): '.u8'}[values.dtype]
            values.astype(values.dtype.newbyteorder('<')).tofile(os.path.join(directory, name + ext))
        if valid is not None:
            valid.astype(np.uint8).tofile(os.path.join(directory, name + '.valid'))


def arrow_table(cols):
    """The same rows as an in-memory Arrow table, with the types pyarrow would use for them."""
    import decimal
    import pyarrow as pa
    arrays = {}
    for name, (values, valid) in cols.items():
        mask = None if valid is None else ~valid
        if name == 'departure':
            arrays[name] = pa.array(values, pa.timestamp('us', tz='UTC'), mask=mask)
        elif name == 'fare':
            arrays[name] = pa.array([None if m else decimal.Decimal(int(v)).scaleb(-2) for v, m in zip(values.tolist(), mask.tolist())],
                                    pa.decimal128(10, 2))
        elif name == 'flight_uuid':
            arrays[name] = pa.ExtensionArray.from_storage(pa.uuid(), pa.array(values, pa.binary(16)))
        elif isinstance(values, list):
            ok = valid.tolist() if valid is not None else [True] * len(values)
            arrays[name] = pa.array([v if k else None for v, k in zip(values, ok)], pa.string())
        else:
            arrays[name] = pa.array(values, mask=mask)
    return pa.table(arrays)


if __name__ == '__main__':
    import pyarrow as pa
    cols = columns(int(sys.argv[2]))
    dump(cols, sys.argv[1])
    with pa.OSFile(os.path.join(sys.argv[1], 'table.arrow'), 'wb') as sink:
        table = arrow_table(cols)
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
