import Foundation
import Testing
import TestSupport
@testable import ToolSupport

@Suite("tool support")
struct ToolSupportTests {
    @Test("JSON.quote escapes quotes, backslashes and control characters")
    func quote() {
        #expect(JSON.quote("a\"b\\c\n\u{01}é") == "\"a\\\"b\\\\c\\n\\u0001é\"")
    }

    @Test("a tool's own peak memory is its VmHWM: at least the 64 MB it just touched, in whole kB")
    func ownPeak() throws {
        var block = [UInt8](repeating: 1, count: 64 << 20)
        for i in stride(from: 0, to: block.count, by: 4096) { block[i] = 2 }
        let peak = try #require(ownPeakResidentBytes())
        #expect(peak >= 64 << 20 && peak % 1024 == 0, "\(peak)")
        #expect(block[4096] == 2)
    }

    @Test("the exit-status table has the documented values")
    func exitStatus() {
        #expect(ExitStatus.ok.rawValue == 0)
        #expect(ExitStatus.failure.rawValue == 1)
        #expect(ExitStatus.usage.rawValue == 2)
        #expect(ExitStatus.notFound.rawValue == 3)
        #expect(ExitStatus.interrupted.rawValue == 130)
    }

    @Test("an atomic output appears only on commit and vanishes on discard")
    func atomicOutput() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("out.bin")
        let output = try AtomicOutput(path: path)
        try output.sink.write("data")
        #expect(!FileManager.default.fileExists(atPath: path))
        try output.commit()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "data")
        let second = try AtomicOutput(path: dir.path("never.bin"))
        try second.sink.write("x")
        second.discard()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path) == ["out.bin"])
    }

    @Test("a sink reports a failed write with the file's name and the system's reason")
    func fullDevice() throws {
        let sink = try FileSink.create(path: "/dev/full")
        try sink.write("x")
        #expect(throws: ToolError.self) { try sink.flush() }
    }
}
