import Foundation
import Testing
import TestSupport

/// Help text and man page say the same things.
@Suite("s3put and s3get man pages")
struct ManPageTests {
    @Test("every option in --help is documented in the man page", arguments: ["s3put", "s3get"])
    func optionsDocumented(tool: String) throws {
        let help = try run(Package.tool(tool), ["--help"]).out
        let page = try String(contentsOf: Package.root.appendingPathComponent("man/\(tool).1"), encoding: .utf8)
        let options = Set(help.matches(of: /--([a-z0-9][a-z0-9-]*)/).map { String($0.output.1) })
            .subtracting(["help", "version"])
        #expect(options.count > 5)
        for option in options.sorted() {
            #expect(page.contains("Fl -\(option)"), "\(tool) --\(option) is not in man/\(tool).1")
        }
    }

    @Test("man/s3put.1 documents every field of the result line, in order")
    func resultLineDocumented() throws {
        let page = try String(contentsOf: Package.root.appendingPathComponent("man/s3put.1"), encoding: .utf8)
        let documented = page.matches(of: /\.It Li ([a-z_0-9]+)/).map { String($0.output.1) }
        #expect(documented == ["bucket", "key", "size", "md5", "etag", "parts", "part_size", "skipped", "sha256", "compared", "comparable"])
        // And the tool prints exactly those, in that order (`compared` only with --compare;
        // `comparable`, `object_size` and `object_etag` only for an object whose ETag is no MD5:
        // EncryptionTests).
        let scratch = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: scratch.path("store"), withIntermediateDirectories: true)
        let result = try run(Package.tool("s3put"), ["--endpoint", "file://" + scratch.path("store"), "--bucket", "b", "--key", "k", "--sha256"],
                             stdin: Data("x".utf8))
        let printed = result.out.matches(of: /"([a-z_0-9]+)":/).map { String($0.output.1) }
        #expect(printed == documented.dropLast(2))
        let compared = try run(Package.tool("s3put"), ["--endpoint", "file://" + scratch.path("store"), "--bucket", "b", "--key", "k",
                                                        "--sha256", "--compare"], stdin: Data("x".utf8))
        #expect(compared.out.matches(of: /"([a-z_0-9]+)":/).map { String($0.output.1) } == documented.dropLast())
    }
}
