"""Times pyarrow.parquet.write_table on the bench rows (an Arrow IPC file from generate.py):
zstd level 3, one thread, the given row-group size. Prints: wall seconds, CPU seconds, file bytes."""
import os, sys, time
import pyarrow as pa, pyarrow.parquet as pq

source, row_group, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pa.set_cpu_count(1)
pa.set_io_thread_count(1)
with pa.memory_map(source) as f:
    table = pa.ipc.open_file(f).read_all()
table = table.combine_chunks()
wall, cpu = time.perf_counter(), time.process_time()
pq.write_table(table, out, compression='zstd', compression_level=3, row_group_size=row_group, use_dictionary=True)
print(time.perf_counter() - wall, time.process_time() - cpu, os.path.getsize(out))
