import Foundation
import Parquet

/// Our reader's view of a file in the same canonical text as `pyarrowRawValues`.
func ourRawValues(_ path: String) throws -> [String: [String?]] {
    let reader = try ParquetReader(path: path)
    var out: [String: [String?]] = [:]
    for (c, descriptor) in reader.columns.enumerated() {
        var column: [String?] = []
        for g in 0..<reader.rowGroupCount {
            let data = try reader.read(rowGroup: g, column: c)
            for cell in data.cells() {
                switch cell {
                case .null: column.append(nil)
                case .value(let i): column.append(render(data.values, i, descriptor.type))
                case .list(let elements):
                    column.append("[" + elements.map { $0.map { render(data.values, $0, descriptor.type) } ?? "null" }.joined(separator: ",") + "]")
                }
            }
        }
        out[descriptor.name] = column
    }
    return out
}

/// One value as canonical text.
func render(_ values: ColumnValues, _ i: Int, _ type: ColumnType) -> String {
    switch values {
    case .boolean(let v): return v[i] ? "true" : "false"
    case .int32(let v): return String(v[i])
    case .int64(let v): return String(v[i])
    case .float(let v): return Double(v[i]).description
    case .double(let v): return v[i].description
    case .bytes(let v):
        switch type.logical {
        case .string?, .json?, .enumeration?: return String(decoding: v[i], as: UTF8.self)
        case .decimal?: return DecimalText.format(bigEndian: v[i], scale: 0)
        default: return v[i].map { String(format: "%02x", $0) }.joined()
        }
    }
}
