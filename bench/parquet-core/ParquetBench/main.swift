// The writer side of bench/parquet-core/run: loads the raw column files, then times writing them
// as Parquet (zstd level 3, default row-group bound). Prints: best wall seconds, best CPU seconds, file bytes,
// rows in the first row group.
import Foundation
import Parquet

let arguments = CommandLine.arguments
// `ParquetBench read FILE`: seconds to decode every column chunk of FILE with our reader.
if arguments.count == 3, arguments[1] == "read" {
    let start = DispatchTime.now().uptimeNanoseconds
    let reader = try ParquetReader(path: arguments[2])
    var values = 0
    for g in 0..<reader.rowGroupCount {
        for c in reader.columns.indices { values += try reader.read(rowGroup: g, column: c).values.count }
    }
    print(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, values)
    exit(0)
}
guard arguments.count == 5, let rows = Int(arguments[2]), let runs = Int(arguments[4]) else {
    FileHandle.standardError.write("usage: ParquetBench COLUMN-DIR ROWS OUTPUT RUNS\n".data(using: .utf8)!)
    exit(2)
}
let directory = arguments[1], outputPath = arguments[3]

func load(_ name: String) -> Data {
    guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)") else {
        FileHandle.standardError.write("ParquetBench: cannot read \(name)\n".data(using: .utf8)!)
        exit(1)
    }
    return data
}

/// A loaded column file kept alive as raw memory.
final class Raw {
    let bytes: UnsafeMutableRawBufferPointer
    init(_ name: String) {
        let data = load(name)
        bytes = .allocate(byteCount: max(data.count, 1), alignment: 16)
        data.copyBytes(to: bytes)
    }
    func pointer<T>(_: T.Type) -> UnsafePointer<T> { UnsafePointer(bytes.baseAddress!.assumingMemoryBound(to: T.self)) }
}

let id = Raw("id.i64").pointer(Int64.self)
let callsignOffsets = Raw("callsign.off").pointer(Int64.self), callsign = Raw("callsign.dat").pointer(UInt8.self)
let departure = Raw("departure.i64").pointer(Int64.self)
let lat = Raw("lat.f64").pointer(Double.self), lon = Raw("lon.f64").pointer(Double.self), latValid = Raw("lat.valid").pointer(UInt8.self)
let altitude = Raw("altitude.i32").pointer(Int32.self), altitudeValid = Raw("altitude.valid").pointer(UInt8.self)
let onGround = Raw("on_ground.u8").pointer(UInt8.self)
let extraOffsets = Raw("extra.off").pointer(Int64.self), extra = Raw("extra.dat").pointer(UInt8.self), extraValid = Raw("extra.valid").pointer(UInt8.self)
let fare = Raw("fare.i64").pointer(Int64.self), fareValid = Raw("fare.valid").pointer(UInt8.self)
let uuid = Raw("flight_uuid.fixed").pointer(UInt8.self)

let columns = [
    ColumnSpec("id", .int64), ColumnSpec("callsign", .string), ColumnSpec("departure", .timestampMicros(adjustedToUTC: true)),
    ColumnSpec("lat", .double), ColumnSpec("lon", .double), ColumnSpec("altitude", .int32), ColumnSpec("on_ground", .boolean),
    ColumnSpec("extra", .json), ColumnSpec("fare", .decimal(precision: 10, scale: 2)), ColumnSpec("flight_uuid", .uuid),
]

func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

@MainActor func writeOnce() throws -> (seconds: Double, cpu: Double, bytes: Int, firstGroup: Int64) {
    let fd = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "cannot create \(outputPath)")
    var written = 0
    let start = DispatchTime.now().uptimeNanoseconds
    let cpuStart = cpuSeconds()
    let writer = try ParquetWriter(columns: columns) { bytes in
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            guard n > 0 else { throw ParquetError("write failed") }
            offset += n
        }
        written += bytes.count
    }
    for r in 0..<rows {
        writer.append(0, id[r])
        writer.append(1, bytes: UnsafeRawBufferPointer(start: callsign + Int(callsignOffsets[r]), count: Int(callsignOffsets[r + 1] - callsignOffsets[r])))
        writer.append(2, departure[r])
        if latValid[r] != 0 {
            writer.append(3, lat[r])
            writer.append(4, lon[r])
        } else {
            writer.appendNull(3)
            writer.appendNull(4)
        }
        if altitudeValid[r] != 0 { writer.append(5, altitude[r]) } else { writer.appendNull(5) }
        writer.append(6, onGround[r] != 0)
        if extraValid[r] != 0 {
            writer.append(7, bytes: UnsafeRawBufferPointer(start: extra + Int(extraOffsets[r]), count: Int(extraOffsets[r + 1] - extraOffsets[r])))
        } else {
            writer.appendNull(7)
        }
        if fareValid[r] != 0 { writer.append(8, fare[r]) } else { writer.appendNull(8) }
        writer.append(9, bytes: UnsafeRawBufferPointer(start: uuid + 16 * r, count: 16))
        try writer.endRow()
    }
    let meta = try writer.finish()
    close(fd)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return (seconds, cpuSeconds() - cpuStart, written, meta.rowGroups.first?.numRows ?? 0)
}

var wall = Double.infinity, cpu = Double.infinity
var last: (seconds: Double, cpu: Double, bytes: Int, firstGroup: Int64)?
for _ in 0..<runs {
    let result = try writeOnce()
    wall = min(wall, result.seconds)
    cpu = min(cpu, result.cpu)
    last = result
}
print(wall, cpu, last!.bytes, last!.firstGroup)
