import Foundation
import Testing
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
