import Foundation
import Testing
import TestSupport
import ToolSupport

/// A framed stream written by FrameWriter into a temporary file, read back by FrameReader.
private func framedFile(_ dir: TemporaryDirectory, _ write: (FrameWriter) throws -> Void) throws -> String {
    let path = dir.path("framed-\(UUID().uuidString)")
    let sink = try FileSink.create(path: path)
    let writer = try FrameWriter(output: sink)
    try write(writer)
    try writer.finish()
    try sink.close()
    return path
}

private func readAll(_ source: FileSource) throws -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 7)  // odd reads: the record cuts must not matter
    while true {
        let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
        if n == 0 { return out }
        out += chunk[0..<n]
    }
}

@Suite("framed streams (docs/framing.md)")
struct FramingTests {
    @Test("frames written with FrameWriter read back with their headers, data and end records, in order")
    func roundTrip() throws {
        let dir = try TemporaryDirectory()
        let big = (0..<600_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }  // several data records
        let path = try framedFile(dir) { writer in
            let first = try writer.begin(try FrameHeader(json: Array(#"{"id":"a","key":"k/a","n":[1,{"x":"y"}]}"#.utf8)))
            try first.write(big)
            try writer.end(.success(stage: "test", figures: ["rows": "3", "digest": "\"00ff\""]), data: first)
            let second = try writer.begin(try FrameHeader(json: Array(#"{"id":"b"}"#.utf8)))
            try writer.end(.success(stage: "test", figures: [:]), data: second)
        }
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(Array(bytes.prefix(8)) == Array("PGAFRAM1".utf8))
        #expect(bytes[8] == UInt8(ascii: "H"))
        let reader = FrameReader(input: try FileSource.open(path: path))
        let a = try #require(try reader.next())
        #expect(a.id == "a")
        #expect(a.header.json == Array(#"{"id":"a","key":"k/a","n":[1,{"x":"y"}]}"#.utf8))
        #expect(a.header.fields["key"]?.string == "k/a")
        #expect(try readAll(a.source) == big)
        #expect(a.end?.error == nil)
        #expect(a.end?.fields["rows"] == .number("3"))
        #expect(String(decoding: a.end!.json, as: UTF8.self) == #"{"stage":"test","digest":"00ff","rows":3}"#)
        let b = try #require(try reader.next())
        #expect(b.id == "b")
        #expect(try readAll(b.source).isEmpty)
        #expect(try reader.next() == nil)
    }

    @Test("a frame that ended failed throws its end record to the reader of its data, and skipRest passes it")
    func upstreamFailure() throws {
        let dir = try TemporaryDirectory()
        let path = try framedFile(dir) { writer in
            let data = try writer.begin(try FrameHeader(json: Array(#"{"id":"1"}"#.utf8)))
            try data.write(Array("half a stream".utf8))
            try data.flush()
            try writer.end(.failure(stage: "pg-extract", message: "reading public.t: relation \"t\" does not exist"), data: data)
            let next = try writer.begin(try FrameHeader(json: Array(#"{"id":"2"}"#.utf8)))
            try next.write(Array("ok".utf8))
            try writer.end(.success(stage: "pg-extract", figures: [:]), data: next)
        }
        let reader = FrameReader(input: try FileSource.open(path: path))
        let first = try #require(try reader.next())
        #expect(throws: UpstreamFrameFailure.self) { _ = try readAll(first.source) }
        #expect(first.upstreamFailure?.end.stage == "pg-extract")
        #expect(first.upstreamFailure?.end.error == "reading public.t: relation \"t\" does not exist")
        let second = try #require(try reader.next())
        #expect(try readAll(second.source) == Array("ok".utf8))
        // skipRest on a frame read only in part reaches the next frame.
        let again = FrameReader(input: try FileSource.open(path: path))
        try #require(try again.next()).skipRest()
        #expect(try again.next()?.id == "2")
    }

    @Test("not a framed stream is a usage error; a stream cut inside a frame is a consequence; a stray record is an error")
    func malformed() throws {
        let dir = try TemporaryDirectory()
        let plain = dir.path("plain")
        try Data("{\"not\":\"framed\"}\n".utf8).write(to: URL(fileURLWithPath: plain))
        let notFramed = #expect(throws: ToolError.self) { _ = try FrameReader(input: try FileSource.open(path: plain)).next() }
        #expect(notFramed?.status == .usage)
        let whole = try framedFile(dir) { writer in
            let data = try writer.begin(try FrameHeader(json: Array(#"{"id":"x"}"#.utf8)))
            try data.write(Array(repeating: 7, count: 1000))
            try writer.end(.success(stage: "t", figures: [:]), data: data)
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        let cut = dir.path("cut")
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: cut))
        let frame = try #require(try FrameReader(input: try FileSource.open(path: cut)).next())
        let cutShort = #expect(throws: ToolError.self) { _ = try readAll(frame.source) }
        #expect(cutShort?.status == .consequence)
        #expect(frame.streamError != nil)
        let stray = dir.path("stray")
        try (Data("PGAFRAM1".utf8) + Data([UInt8(ascii: "D"), 0, 0, 0, 1, 42])).write(to: URL(fileURLWithPath: stray))
        #expect(throws: ToolError.self) { _ = try FrameReader(input: try FileSource.open(path: stray)).next() }
        #expect(throws: ToolError.self) { _ = try FrameHeader(json: Array(#"{"id":7}"#.utf8)) }
        // An empty input is an empty stream.
        let empty = dir.path("empty")
        try Data().write(to: URL(fileURLWithPath: empty))
        #expect(try FrameReader(input: try FileSource.open(path: empty)).next() == nil)
    }

    @Test("the small JSON reader: nesting, escapes, numbers as text, and refusals")
    func flatJSON() throws {
        let members = try FlatJSON.object(Array(#" {"a":"x\"\u00e9\n","n":-1.5e3,"t":true,"z":null,"o":{"k":[1,"2",{}]},"u":18446744073709551615} "#.utf8),
                                          what: "test")
        #expect(members["a"] == .string("x\"é\n"))
        #expect(members["n"] == .number("-1.5e3"))
        #expect(members["t"]?.bool == true)
        #expect(members["z"] == .null)
        #expect(members["o"] == .object(["k": .array([.number("1"), .string("2"), .object([:])])]))
        #expect(members["u"]?.unsigned == UInt64.max)
        for bad in [#"[1]"#, #"{"a":1"#, #"{"a":1}x"#, #"{"a":tru}"#, "{\"a\":\"\u{1}\"}", #"{a:1}"#] {
            #expect(throws: ToolError.self, "\(bad)") { _ = try FlatJSON.object(Array(bad.utf8), what: "test") }
        }
    }
}
