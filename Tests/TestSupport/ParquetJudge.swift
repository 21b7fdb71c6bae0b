import Foundation

/// pyarrow as the judge of a Parquet file: prints `name: arrow type` per column, then compares every
/// value with PostgreSQL's `row_to_json` lines (argv[2]), rendering pyarrow's values in row_to_json's
/// forms (numbers as exact tokens, floats bit for bit, dates from raw day counts so BC dates work).
/// With argv[3], a column name, both sides are compared in that column's order.
public let pyarrowJudgeScript = #"""
import json, math, re, struct, sys, uuid
import pyarrow as pa, pyarrow.parquet as pq

path, reference = sys.argv[1], sys.argv[2]
table = pq.read_table(path)
key = sys.argv[3] if len(sys.argv) > 3 else None
if key:
    table = table.sort_by(key)
for field in table.schema:
    print(f"{field.name}: {field.type}")

def load(line):
    return json.loads(line, object_pairs_hook=lambda p: ("obj", list(p)), parse_float=lambda s: ("num", s),
                      parse_int=lambda s: ("num", s), parse_constant=lambda s: ("const", s))

def civil(z):
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    return (y, m, d)

def ymd(days):
    y, m, d = civil(days)
    if y > 0:
        return (f"{y:04d}-{m:02d}-{d:02d}", "")
    return (f"{1 - y:04d}-{m:02d}-{d:02d}", " BC")

def clock(micros):
    s, f = divmod(micros, 1_000_000)
    text = f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
    return text + ("." + f"{f:06d}".rstrip("0") if f else "")

def render(t):
    """A function from a raw Python value of arrow type t to row_to_json's parsed form."""
    if pa.types.is_list(t):
        inner = render(t.value_type)
        return lambda v: [None if e is None else inner(e) for e in v]
    if isinstance(t, pa.BaseExtensionType):
        if "uuid" in str(t):
            return lambda v: str(uuid.UUID(bytes=v))
        return load
    if pa.types.is_integer(t):
        return lambda v: ("num", str(v))
    if pa.types.is_boolean(t):
        return lambda v: v
    if pa.types.is_floating(t):
        fmt = "<f" if t == pa.float32() else "<d"
        def fl(v):
            if v != v: return "NaN"
            if v in (float("inf"), float("-inf")): return "Infinity" if v > 0 else "-Infinity"
            return ("float", struct.pack(fmt, v))
        return fl
    if pa.types.is_decimal(t):
        return lambda v: ("num", format(v, "f"))
    if pa.types.is_date32(t):
        return lambda v: "".join(ymd(v))
    if pa.types.is_timestamp(t):
        def ts(v):
            days, micros = divmod(v, 86_400_000_000)
            date, era = ymd(days)
            return date + "T" + clock(micros) + ("+00:00" if t.tz else "") + era
        return ts
    if pa.types.is_time64(t):
        return clock
    if pa.types.is_binary(t):
        return lambda v: "\\x" + v.hex()
    return lambda v: v

def raw(column):
    """The column with dates, times and timestamps as integers, extension types as storage."""
    t = column.type
    def storage(t):
        if isinstance(t, pa.BaseExtensionType): return t.storage_type
        if pa.types.is_date32(t): return pa.int32()
        if pa.types.is_timestamp(t) or pa.types.is_time64(t): return pa.int64()
        if pa.types.is_list(t): return pa.list_(storage(t.value_type))
        return t
    if isinstance(t, pa.BaseExtensionType):
        column = pa.chunked_array([c.storage for c in column.chunks], t.storage_type)
    elif pa.types.is_list(t) and isinstance(t.value_type, pa.BaseExtensionType):
        column = pa.chunked_array([pa.ListArray.from_arrays(c.offsets, c.values.storage, mask=c.is_null()) for c in column.chunks])
    return column.cast(storage(t)).to_pylist()

def normalise(pg, ours):
    """PostgreSQL's parsed value made comparable with ours: floats as bits, text columns' numbers as tokens."""
    if isinstance(ours, tuple) and ours[0] == "float" and isinstance(pg, tuple):
        fmt = "<f" if len(ours[1]) == 4 else "<d"
        return ("float", struct.pack(fmt, float(pg[1])))
    if isinstance(ours, str) and isinstance(pg, tuple) and pg[0] == "num":
        return pg[1]
    if isinstance(ours, list) and isinstance(pg, list):
        return [normalise(p, o) for p, o in zip(pg, ours)] + pg[len(ours):]
    return pg

# An array column's companion "<name>.array_dims" (docs/types.md, "Arrays in Parquet") gives the shape of
# each value that is not one-dimensional from 1: its flat LIST nests as row_to_json nests it (which drops bounds).
meta = pq.read_metadata(path).metadata or {}
companion = json.loads(meta.get(b"pgarchive.array_dims", b"{}"))

def reshape(flat, dims):
    lengths = [int(b) - int(a) + 1 for a, b in re.findall(r"\[(-?\d+):(-?\d+)\]", dims)]
    def nest(items, lengths):
        if len(lengths) == 1: return items
        step = len(items) // lengths[0]
        return [nest(items[i * step:(i + 1) * step], lengths[1:]) for i in range(lengths[0])]
    assert "".join(f"[{a}:{b}]" for a, b in re.findall(r"\[(-?\d+):(-?\d+)\]", dims)) == dims, dims
    assert len(flat) == math.prod(lengths), (flat, dims)
    return nest(flat, lengths)

def shapes(name):
    return table.column(companion[name]).to_pylist() if name in companion else [None] * table.num_rows

columns = [(f.name, render(f.type), raw(table.column(i)), shapes(f.name))
           for i, f in enumerate(table.schema) if f.name not in companion.values()]
with open(reference, encoding="utf-8") as f:
    rows = [load(line) for line in f if line.strip()]
if key:
    rows.sort(key=lambda row: float(dict(row[1])[key][1]))
bad = 0
if len(rows) != table.num_rows:
    print("row counts differ:", table.num_rows, len(rows)); sys.exit(1)
for r, row in enumerate(rows):
    pg = dict(row[1])
    for name, rend, values, dims in columns:
        v = values[r]
        ours = None if v is None else rend(v)
        if dims[r] is not None:
            ours = reshape(ours, dims[r])
        expected = normalise(pg[name], ours)
        if ours != expected:
            bad += 1
            print(f"row {r + 1}, column {name}: pyarrow {ours!r} vs PostgreSQL {pg[name]!r}")
sys.exit(1 if bad else 0)
"""#

/// Runs a Python script with arguments from a file in `dir`; returns its status and output.
public func python(_ script: String, _ arguments: [String], in dir: TemporaryDirectory, name: String) throws -> ProcessResult {
    let path = dir.path(name)
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    return try run(try which("python3"), [path] + arguments)
}
