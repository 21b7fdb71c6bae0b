"""Times pyarrow.parquet.write_table on the bench rows: zstd level 3, one thread, given row-group size.

Prints: seconds bytes (best of the given number of runs)."""
import decimal, os, sys, time
import numpy as np
import pyarrow as pa, pyarrow.parquet as pq
from generate import columns

n, row_group, out, runs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
pa.set_cpu_count(1)
pa.set_io_thread_count(1)
cols = columns(n)
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
        arrays[name] = pa.array([None if (valid is not None and not ok) else v for v, ok in zip(values, valid if valid is not None else [True] * n)], pa.string())
    else:
        arrays[name] = pa.array(values, mask=mask)
table = pa.table(arrays)
best = None
for _ in range(runs):
    t0 = time.perf_counter()
    pq.write_table(table, out, compression='zstd', compression_level=3, row_group_size=row_group, use_dictionary=True)
    t = time.perf_counter() - t0
    best = t if best is None or t < best else best
print(best, os.path.getsize(out))
