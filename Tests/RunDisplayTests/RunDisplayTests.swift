import Foundation
import Testing
import TestSupport
@testable import RunDisplay

@Suite("run display")
struct RunDisplayTests {
    let time = Date(timeIntervalSince1970: 1_704_067_200.5)

    @Test("log lines in text, logfmt and JSON carry time, level, message and fields")
    func styles() throws {
        let fields = [("slice", "flights-2024-01-05"), ("error", "rowfmt (exit status 1): bad \"x\"")]
        #expect(formatLogLine(style: .text, level: .warn, message: "slice failed", fields: fields, time: time)
                == "2024-01-01T00:00:00.500Z WARN  slice failed slice=flights-2024-01-05 error=\"rowfmt (exit status 1): bad \\\"x\\\"\"")
        #expect(formatLogLine(style: .logfmt, level: .info, message: "done", fields: [("rows", "42")], time: time)
                == "time=2024-01-01T00:00:00.500Z level=info msg=done rows=42")
        let json = formatLogLine(style: .json, level: .error, message: "a\nb", fields: fields, time: time)
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: String]
        #expect(object == ["time": "2024-01-01T00:00:00.500Z", "level": "error", "msg": "a\nb",
                           "slice": "flights-2024-01-05", "error": "rowfmt (exit status 1): bad \"x\""])
    }

    @Test("docs/progress.md lists exactly the log fields that are JSON numbers (numericLogFields), each once")
    func numericFieldsDocumented() throws {
        let doc = try String(contentsOf: Package.root.appendingPathComponent("docs/progress.md"), encoding: .utf8)
        let start = try #require(doc.range(of: "numbers where they appear: "))
        let end = try #require(doc.range(of: " (the", range: start.upperBound..<doc.endIndex))
        let listed = doc[start.upperBound..<end.lowerBound].split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "`"))
        }
        #expect(listed.count == Set(listed).count, "\(listed)")
        #expect(Set(listed) == numericLogFields, "missing: \(numericLogFields.subtracting(listed).sorted()), extra: \(Set(listed).subtracting(numericLogFields).sorted())")
    }

    @Test("sizes and durations read like a person writes them")
    func human() {
        #expect(formatBytes(512) == "512 B")
        #expect(formatBytes(1536) == "1.5 KiB")
        #expect(formatBytes(3 << 30) == "3.0 GiB")
        #expect(formatDuration(6.24) == "6.2s")
        #expect(formatDuration(245) == "4m05s")
        #expect(formatDuration(3723) == "1h02m03s")
    }
}
