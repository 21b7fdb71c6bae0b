import Foundation
import TestSupport

/// What an independent reader (pyarrow or DuckDB) saw in a Parquet file.
struct JudgeView: Decodable {
    /// Leaf columns in order: path, physical type, logical type as the reader names it.
    var columns: [JudgeColumn]
    /// Values per top-level column, each rendered as canonical text (nil for null).
    var values: [String: [String?]]
    /// Number of row groups (pyarrow only).
    var rowGroups: Int?
    /// Footer key-value metadata (pyarrow only).
    var metadata: [String: String]?
}

/// One leaf column as a judge describes it.
struct JudgeColumn: Decodable {
    var path: String
    var physical: String
    var logical: String
}

/// Canonical text of Python values, shared by both judges.
private let canonicalPython = """
import sys, json, decimal, datetime, uuid, math
def canon(v):
    if v is None: return None
    if isinstance(v, bool): return "true" if v else "false"
    if isinstance(v, int): return str(v)
    if isinstance(v, float): return repr(v)
    if isinstance(v, decimal.Decimal): return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)): return bytes(v).hex()
    if isinstance(v, uuid.UUID): return v.hex
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None: v = v.astimezone(datetime.timezone.utc)
        return v.isoformat()
    if isinstance(v, (datetime.date, datetime.time)): return v.isoformat()
    if isinstance(v, list): return "[" + ",".join("null" if x is None else canon(x) for x in v) + "]"
    if isinstance(v, dict): return json.dumps(v, sort_keys=True)
    return str(v)

"""

/// Reads a Parquet file with pyarrow.
func pyarrowView(_ path: String) throws -> JudgeView {
    let script = canonicalPython + """
    import pyarrow.parquet as pq
    f = pq.ParquetFile(sys.argv[1], page_checksum_verification=True)
    cols = []
    for i in range(len(f.schema)):
        c = f.schema.column(i)
        cols.append({"path": c.path, "physical": c.physical_type, "logical": c.logical_type.to_json()})
    t = f.read()
    values = {name: [canon(v) for v in t.column(name).to_pylist()] for name in t.column_names}
    md = {k.decode(): v.decode() for k, v in (f.metadata.metadata or {}).items()}
    print(json.dumps({"columns": cols, "values": values, "rowGroups": f.num_row_groups, "metadata": md}))
    """
    return try judge(script, path)
}

/// Reads a Parquet file with DuckDB (time zone UTC).
func duckdbView(_ path: String) throws -> JudgeView {
    let script = canonicalPython + """
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    rel = con.sql("SELECT * FROM read_parquet(?)", params=[sys.argv[1]])
    names = rel.columns
    types = [str(t) for t in rel.types]
    rows = rel.fetchall()
    values = {n: [canon(r[i]) for r in rows] for i, n in enumerate(names)}
    cols = [{"path": n, "physical": "", "logical": t} for n, t in zip(names, types)]
    print(json.dumps({"columns": cols, "values": values}))
    """
    return try judge(script, path)
}

private func judge(_ script: String, _ path: String) throws -> JudgeView {
    let result = try run("python3", ["-c", script, path])
    guard result.status == 0 else { throw TestFailure("python judge failed: \(result.err)") }
    return try JSONDecoder().decode(JudgeView.self, from: result.stdout)
}

/// Runs a Python script with pyarrow available (fixture generation); fails with its stderr.
func python(_ script: String, _ arguments: [String]) throws {
    let result = try run("python3", ["-c", script] + arguments)
    guard result.status == 0 else { throw TestFailure("python failed: \(result.err)") }
}

/// Physical values of every column as pyarrow reads them: timestamps, dates and times as their
/// stored integers, decimals as unscaled integers, strings as text, other bytes as hex, lists as [a,b].
func pyarrowRawValues(_ path: String) throws -> [String: [String?]] {
    let script = """
    import sys, json, decimal, uuid
    import pyarrow as pa, pyarrow.parquet as pq
    decimal.getcontext().prec = 100
    def target(t):
        if pa.types.is_timestamp(t) or pa.types.is_time64(t): return pa.int64()
        if pa.types.is_date32(t) or pa.types.is_time32(t): return pa.int32()
        if pa.types.is_list(t): return pa.list_(target(t.value_type))
        return t
    def canon(v, t):
        if v is None: return None
        if pa.types.is_list(t): return "[" + ",".join("null" if x is None else canon(x, t.value_type) for x in v) + "]"
        if isinstance(v, bool): return "true" if v else "false"
        if isinstance(v, int): return str(v)
        if isinstance(v, float): return repr(v)
        if isinstance(v, decimal.Decimal): return str(int(v.scaleb(t.scale)))
        if isinstance(v, (bytes, bytearray)): return bytes(v).hex()
        if isinstance(v, uuid.UUID): return v.hex
        return str(v)
    t = pq.read_table(sys.argv[1], page_checksum_verification=True)
    out = {}
    for name in t.column_names:
        col = t.column(name)
        if isinstance(col.type, pa.ExtensionType):
            col = pa.chunked_array([c.storage for c in col.chunks], type=col.type.storage_type)
        col = col.cast(target(col.type))
        out[name] = [canon(v, col.type) for v in col.to_pylist()]
    print(json.dumps(out))
    """
    let result = try run("python3", ["-c", script, path])
    guard result.status == 0 else { throw TestFailure("python judge failed: \(result.err)") }
    return try JSONDecoder().decode([String: [String?]].self, from: result.stdout)
}
