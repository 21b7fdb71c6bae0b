import ArchiveCache
import ArgumentParser
import ToolSupport

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print one scope's cache as the original's JSON cache file: {\"entries\": {key: entry, …}}.",
        discussion: """
            The scope is chosen by --command and --table, and by --bucket and --path-template when the \
            table is archived to more than one destination. The output is what \
            <command>_<table>_<h16>_metadata.json held before the database: entries sorted by key, \
            every field of the original plus ours. Exit 3 when the cache knows nothing of the table.
            """)
    @Option(name: .customLong("command"), help: "The archiver command of the scope: archive, dump or dump-hybrid.")
    var command = "archive"
    @Option(help: "The base table name.")
    var table: String
    @Option(help: "The destination bucket (with --path-template: one destination of several).")
    var bucket: String?
    @Option(help: "The object path template.")
    var pathTemplate: String?

    func validate() throws {
        if (bucket == nil) != (pathTemplate == nil) { throw ValidationError("--bucket and --path-template go together") }
    }

    func run() throws {
        let s = store()
        let fileName: String
        if let bucket, let pathTemplate {
            fileName = CacheScope(command: command, table: table, bucket: bucket, pathTemplate: pathTemplate).fileName
        } else {
            let matching = try s.scopes().filter { $0.command == command && $0.table == table }
            guard let only = matching.first else {
                throw ToolError("no cache for \(command) of table \"\(table)\"", status: .notFound)
            }
            guard matching.count == 1 else {
                throw ToolError("table \"\(table)\" has \(matching.count) \(command) destinations "
                                + "(\(matching.map(\.fileName).joined(separator: ", "))); give --bucket and --path-template")
            }
            fileName = only.fileName
        }
        guard let name = CacheFileName(fileName: fileName), let cache = try s.load(fileName: name) else {
            throw ToolError("no cache for \(command) of table \"\(table)\" at that destination", status: .notFound)
        }
        try output([cache.json.pretty])
    }
}
