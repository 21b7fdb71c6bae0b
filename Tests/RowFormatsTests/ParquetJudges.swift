import Foundation
import TestSupport

/// DuckDB's view of a Parquet file: `name: DUCKDB TYPE` per column, then the row count.
let duckdbDescribeScript = #"""
import sys, duckdb
con = duckdb.connect()
for name, type, *_ in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [sys.argv[1]]).fetchall():
    print(f"{name}: {type}")
print("rows:", con.execute("SELECT count(*) FROM read_parquet(?)", [sys.argv[1]]).fetchone()[0])
"""#
