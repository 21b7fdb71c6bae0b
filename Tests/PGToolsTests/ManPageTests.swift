import Foundation
import Testing
import TestSupport

@Suite("pg tool man pages")
struct ManPageTests {
    @Test("every long option in --help is documented in the man page", arguments: ["pg-partitions", "pg-extract"])
    func optionsInStep(tool: String) throws {
        let help = try run(Package.tool(tool), ["--help"])
        #expect(help.status == 0)
        let page = try String(contentsOf: Package.root.appendingPathComponent("man/\(tool).1"), encoding: .utf8)
        let options = Set(help.out.matches(of: /--([a-z][a-z-]+)/).map { String($0.1) })
        #expect(options.count > 5)
        for option in options {
            #expect(page.contains("Fl -\(option)"), "man/\(tool).1 does not document --\(option)")
        }
    }
}
