import Foundation
import Testing
import TestSupport

/// Conventions every executable of the package follows; new tools are covered automatically.
@Suite("tool conventions")
struct ConventionTests {
    static let tools = Package.executableNames

    @Test("--help prints usage on stdout and exits 0", arguments: tools)
    func help(tool: String) throws {
        let result = try run(Package.tool(tool), ["--help"])
        #expect(result.status == 0, "\(tool) --help: \(result.err)")
        #expect(result.out.contains("USAGE:") || result.out.contains("Usage:"))
        #expect(result.err.isEmpty)
        // A default shows as the user writes it (16MiB), never as a Swift value (ByteSize(bytes: …)).
        let swiftValue = result.out.firstMatch(of: /\(default: [A-Z][A-Za-z]*\(/)
        #expect(swiftValue == nil, "\(tool) --help shows a default as a Swift value: \(result.out)")
    }

    @Test("--version prints TOOL VERSION on stdout and exits 0", arguments: tools)
    func version(tool: String) throws {
        let result = try run(Package.tool(tool), ["--version"])
        #expect(result.status == 0)
        #expect(result.out == "\(tool) 0.1.0\n", "the same form for every tool")
        #expect(result.err.isEmpty)
    }

    @Test("an unknown option exits 2 with 'TOOL: error:' on stderr and nothing on stdout", arguments: tools)
    func unknownOption(tool: String) throws {
        let result = try run(Package.tool(tool), ["--no-such-option-anywhere"])
        #expect(result.status == 2)
        #expect(result.out.isEmpty)
        #expect(result.err.hasPrefix("\(tool): error: "), "stderr was: \(result.err)")
    }

    @Test("a failed write of --help to stdout is an error, never exit 0", arguments: tools)
    func helpToFullDevice(tool: String) throws {
        let result = try run(Package.tool(tool), ["--help"], stdoutFile: "/dev/full")
        #expect(result.status == 1)
        #expect(result.err.contains("No space left on device"), "stderr was: \(result.err)")
    }

    /// Invocations that write binary data, for the tools that have one.
    static let binaryWriters: [(String, [String])] = [
        ("zcompress", ["zstd"]),
        ("pg-extract", ["--relation", "t"]),
        ("rowfmt", ["--from", "jsonl", "--to", "rowstream"]),
        ("s3get", ["--bucket", "b", "--key", "k"]),
    ].filter { tools.contains($0.0) }

    @Test("binary writers refuse a terminal on stdout unless forced", arguments: binaryWriters.map { $0.0 })
    func refusesTerminal(tool: String) throws {
        let args = Self.binaryWriters.first { $0.0 == tool }!.1
        // A pseudo-terminal on stdout, a file on stdin.
        let script = """
            import os, pty, sys, subprocess
            master, slave = pty.openpty()
            p = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
            sys.stderr.write(p.stderr.decode())
            sys.exit(p.returncode)
            """
        let result = try run("python3", ["-c", script, Package.tool(tool)] + args)
        #expect(result.status == 2)
        #expect(result.err.contains("terminal"), "stderr was: \(result.err)")
    }

    @Test("every tool has a man page that documents each long option of its --help and the exit status", arguments: tools)
    func manPage(tool: String) throws {
        let path = Package.root.appendingPathComponent("man/\(tool).1").path
        let page = try String(contentsOfFile: path, encoding: .utf8)
        #expect(page.contains(".Sh EXIT STATUS"))
        #expect(page.contains(".Sh EXAMPLES"))
        let help = try run(Package.tool(tool), ["--help"]).out
        let options = Set(help.matches(of: /--([a-z0-9][a-z0-9-]*)/).map { String($0.output.1) })
        // --help and --version are every tool's; the conventions above cover them.
        for option in options.subtracting(["help", "version"]).sorted() {
            #expect(page.contains("Fl -\(option)"), "man/\(tool).1 does not document --\(option)")
        }
    }
}
