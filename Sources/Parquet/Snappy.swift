/// Decompresses a raw Snappy block (google/snappy format_description.txt) into exactly `output.count` bytes.
func snappyDecompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(EncodingError) {
    var ip = 0
    let inCount = input.count
    // Preamble: the uncompressed length as a varint.
    var length: UInt64 = 0
    var shift: UInt64 = 0
    while true {
        guard ip < inCount, shift <= 28 else { throw EncodingError(message: "corrupt snappy data: bad length preamble") }
        let b = input[ip]
        ip += 1
        length |= UInt64(b & 0x7F) << shift
        if b & 0x80 == 0 { break }
        shift += 7
    }
    guard length == UInt64(output.count) else {
        throw EncodingError(message: "snappy data decompresses to \(length) bytes, header says \(output.count)")
    }
    let out = output.baseAddress
    let outCount = output.count
    var op = 0
    while ip < inCount {
        let tag = input[ip]
        ip += 1
        switch tag & 3 {
        case 0:
            // Literal: length-1 in the upper six bits, or in 1-4 following bytes.
            var len = Int(tag >> 2)
            if len >= 60 {
                let extra = len - 59
                guard inCount - ip >= extra else { throw EncodingError(message: "corrupt snappy data: literal length runs past the end") }
                len = 0
                for k in 0..<extra { len |= Int(input[ip + k]) << (8 * k) }
                ip += extra
            }
            len += 1
            guard inCount - ip >= len else { throw EncodingError(message: "corrupt snappy data: literal runs past the input") }
            guard outCount - op >= len else { throw EncodingError(message: "corrupt snappy data: literal overflows the output") }
            (out! + op).copyMemory(from: input.baseAddress! + ip, byteCount: len)
            ip += len
            op += len
        default:
            var len: Int
            var offset: Int
            switch tag & 3 {
            case 1:
                guard ip < inCount else { throw EncodingError(message: "corrupt snappy data: copy runs past the input") }
                len = Int((tag >> 2) & 7) + 4
                offset = Int(tag >> 5) << 8 | Int(input[ip])
                ip += 1
            case 2:
                guard inCount - ip >= 2 else { throw EncodingError(message: "corrupt snappy data: copy runs past the input") }
                len = Int(tag >> 2) + 1
                offset = Int(input[ip]) | Int(input[ip + 1]) << 8
                ip += 2
            default:
                guard inCount - ip >= 4 else { throw EncodingError(message: "corrupt snappy data: copy runs past the input") }
                len = Int(tag >> 2) + 1
                offset = Int(input[ip]) | Int(input[ip + 1]) << 8 | Int(input[ip + 2]) << 16 | Int(input[ip + 3]) << 24
                ip += 4
            }
            guard offset > 0, offset <= op else { throw EncodingError(message: "corrupt snappy data: copy offset \(offset) at output byte \(op)") }
            guard outCount - op >= len else { throw EncodingError(message: "corrupt snappy data: copy overflows the output") }
            let o = out!
            if offset >= len {
                (o + op).copyMemory(from: o + op - offset, byteCount: len)
            } else {
                // Overlapping copy: byte by byte repeats the pattern.
                for k in 0..<len { o.storeBytes(of: o.load(fromByteOffset: op - offset + k, as: UInt8.self), toByteOffset: op + k, as: UInt8.self) }
            }
            op += len
        }
    }
    guard op == outCount else { throw EncodingError(message: "snappy data ends after \(op) of \(outCount) bytes") }
}
