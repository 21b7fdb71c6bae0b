/// Just enough XML for S3's responses: find elements by name and read their text.
///
/// S3 answers are flat, never nest an element inside one of the same name, and carry no
/// CDATA; text is entity-decoded.
struct XMLScanner {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The inner ranges of every `<name>…</name>` (or `<name attr…>…</name>`) in `range`.
    func elements(_ name: String, in range: Range<Int>? = nil) -> [Range<Int>] {
        let range = range ?? 0..<bytes.count
        let open = Array("<\(name)".utf8)
        let close = Array("</\(name)>".utf8)
        var found: [Range<Int>] = []
        var i = range.lowerBound
        while let start = find(open, from: i, before: range.upperBound) {
            var j = start + open.count
            guard j < range.upperBound else { break }
            let next = bytes[j]
            guard next == UInt8(ascii: ">") || next == UInt8(ascii: " ") || next == UInt8(ascii: "/") else {
                i = j
                continue
            }
            while j < range.upperBound && bytes[j] != UInt8(ascii: ">") { j += 1 }
            guard j < range.upperBound else { break }
            if bytes[j - 1] == UInt8(ascii: "/") {  // <name/>
                found.append((j + 1)..<(j + 1))
                i = j + 1
                continue
            }
            guard let end = find(close, from: j + 1, before: range.upperBound) else { break }
            found.append((j + 1)..<end)
            i = end + close.count
        }
        return found
    }

    /// The decoded text of the first `<name>` in `range`, or nil.
    func text(_ name: String, in range: Range<Int>? = nil) -> String? {
        elements(name, in: range).first.map { decode($0) }
    }

    /// Entity-decoded text of a range.
    func decode(_ range: Range<Int>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            let b = bytes[i]
            if b == UInt8(ascii: "&"), let semi = find([UInt8(ascii: ";")], from: i, before: min(range.upperBound, i + 12)) {
                let entity = String(decoding: bytes[(i + 1)..<semi], as: UTF8.self)
                var scalar: Unicode.Scalar?
                switch entity {
                case "amp": scalar = "&"
                case "lt": scalar = "<"
                case "gt": scalar = ">"
                case "quot": scalar = "\""
                case "apos": scalar = "'"
                default:
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                        scalar = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                    } else if entity.hasPrefix("#") {
                        scalar = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init)
                    }
                }
                if let scalar {
                    out += Array(String(Character(scalar)).utf8)
                    i = semi + 1
                    continue
                }
            }
            out.append(b)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func find(_ needle: [UInt8], from: Int, before end: Int) -> Int? {
        guard !needle.isEmpty, end - from >= needle.count else { return nil }
        var i = from
        let first = needle[0]
        while i + needle.count <= end {
            if bytes[i] == first {
                var k = 1
                while k < needle.count && bytes[i + k] == needle[k] { k += 1 }
                if k == needle.count { return i }
            }
            i += 1
        }
        return nil
    }
}

/// Escapes text for an XML element body.
func xmlEscape(_ text: String) -> String {
    var out = ""
    for ch in text {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(ch)
        }
    }
    return out
}
