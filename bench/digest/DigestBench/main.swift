// The row digest micro-benchmark (bench/verify): reads a rowstream file twice, once only
// splitting its tuples and once also digesting them, and prints the CPU seconds of each pass,
// so the digest's own CPU cost is their difference. Not a user tool.
import RowDigest
import RowStream
#if canImport(Glibc)
import Glibc
#endif

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

func pass(_ path: String, digest: Bool) throws -> (seconds: Double, rows: UInt64, hex: String) {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { fatalError("DigestBench: cannot open \(path)") }
    defer { close(fd) }
    let start = cpuSeconds()
    let reader = try RowStreamReader { buffer in
        let n = read(fd, buffer.baseAddress, buffer.count)
        if n < 0 { throw RowStreamError("read failed", offset: 0) }
        return n
    }
    let digester = RowDigester(schema: reader.schema!)
    var rows: UInt64 = 0
    while try reader.next() {
        if digest { digester.add(tuple: reader.rawTuple) }
        rows += 1
    }
    return (cpuSeconds() - start, rows, digester.digest.hex)
}

let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "/dev/stdin"
let plain = try pass(path, digest: false)
let digested = try pass(path, digest: true)
print("{\"rows\":\(digested.rows),\"digest\":\"\(digested.hex)\",\"read_cpu_s\":\(plain.seconds),\"read_and_digest_cpu_s\":\(digested.seconds)}")
