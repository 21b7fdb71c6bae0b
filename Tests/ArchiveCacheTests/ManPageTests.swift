import Foundation
import Testing
import TestSupport

@Suite("archive-cache manual")
struct ManPageTests {
    static let subcommands = ["get", "put", "list", "expire", "record", "record-error", "set-task", "clear-task", "status",
                              "lock", "path", "serve"]

    @Test("the man page names every subcommand and every option the help shows")
    func helpAndManAgree() throws {
        let man = try String(contentsOf: Package.root.appendingPathComponent("man/archive-cache.1"), encoding: .utf8)
        let top = try run(Package.tool("archive-cache"), ["--help"]).out
        for sub in Self.subcommands {
            #expect(top.contains("  \(sub) "), "--help lacks \(sub)")
            #expect(man.contains(".Cm \(sub)") || man.contains(" \(sub) |") || man.contains("| \(sub)"), "man page lacks \(sub)")
            let help = try run(Package.tool("archive-cache"), ["help", sub]).out
            let options = Set(help.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "[" || $0 == "]" })
                .map { $0.drop { $0 == "-" } == $0 ? "" : String($0.dropFirst(2).prefix { $0.isLetter || $0 == "-" }) }
                .filter { !$0.isEmpty })
            for option in options.subtracting(["version", "help"]) {
                #expect(man.contains("Fl -\(option)"), "man page lacks --\(option) of \(sub)")
            }
        }
    }
}
