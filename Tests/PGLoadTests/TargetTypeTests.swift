import Foundation
import Testing
import TestSupport

@Suite("pg-load: existing targets and the load ledger", .enabled(if: Services.postgresEnabled))
struct TargetTypeTests {
    static let sourceDDL = """
        CREATE TABLE src (id integer NOT NULL, v numeric(10,3), name varchar(20), at timestamptz);
        INSERT INTO src VALUES (1, 5.7, 'a', '2024-01-01 10:00+00'), (2, 1.25, 'bb', NULL), (3, NULL, NULL, '2024-01-02 00:00:00.5+00');
        """

    @Test("a narrower target column is refused naming column, object and both types; --allow-lossy-cast converts; a wider target takes the values exactly")
    func lossyTargets() throws {
        let pg = try Services.requirePostgres()
        let db = try ScratchDatabase(pg, prefix: "load")
        try db.value(Self.sourceDDL + """
            CREATE TABLE narrow (id integer, v numeric(10,1), name varchar(20), at timestamptz);
            CREATE TABLE zoneless (id integer, v numeric(10,3), name varchar(20), at timestamp);
            CREATE TABLE wide (id bigint, v numeric, name text, at timestamptz, extra text DEFAULT 'x');
            """)
        let dir = try TemporaryDirectory()
        let stream = try extract(db, "src", into: dir)
        let (refused, _) = try load(db, stream, ["--table", "narrow", "--object-key", "archives/src-2024-01-01.jsonl"])
        #expect(refused.status == 1)
        #expect(refused.err.contains("column \"v\" of public.narrow is numeric(10,1) but object archives/src-2024-01-01.jsonl holds numeric(10,3) values"),
                "\(refused.err)")
        #expect(refused.err.contains("--allow-lossy-cast"), "\(refused.err)")
        #expect(try db.value("SELECT count(*) FROM narrow") == "0")
        let (zone, _) = try load(db, stream, ["--table", "zoneless"])
        #expect(zone.status == 1)
        #expect(zone.err.contains("column \"at\" of public.zoneless is timestamp without time zone but the input holds timestamp with time zone values"),
                "\(zone.err)")
        let (allowed, allowedJSON) = try load(db, stream, ["--table", "narrow", "--allow-lossy-cast"])
        #expect(allowed.status == 0, "\(allowed.err)")
        #expect(allowedJSON["inserted"] as? Int == 3)
        #expect(allowed.err.contains("warning: column \"v\" of public.narrow is numeric(10,1)"), "\(allowed.err)")
        #expect(try db.value("SELECT string_agg(v::text, ' ' ORDER BY id) FROM narrow") == "5.7 1.3")
        let (wide, wideJSON) = try load(db, stream, ["--table", "wide"])
        #expect(wide.status == 0, "\(wide.err)")
        #expect(wideJSON["inserted"] as? Int == 3)
        #expect(!wide.err.contains("lossy"), "\(wide.err)")
        #expect(try db.value("SELECT count(*) FROM (SELECT id::text, v::text, name, at::text FROM src EXCEPT ALL SELECT id::text, v::text, name, at::text FROM wide) d") == "0")
        #expect(try db.value("SELECT string_agg(v::text || extra, ' ' ORDER BY id) FROM wide") == "5.700x 1.250x")
    }

    @Test("the ledger: a recorded object is skipped, a changed one is reported and skipped, --reload loads again with a warning, a failed load records nothing")
    func ledger() throws {
        let pg = try Services.requirePostgres()
        let db = try ScratchDatabase(pg, prefix: "load")
        try db.value(Self.sourceDDL + "CREATE TABLE keyless (LIKE src)")
        let dir = try TemporaryDirectory()
        let stream = try extract(db, "src", into: dir)
        let (usage, _) = try load(db, stream, ["--table", "keyless", "--reload"])
        #expect(usage.status == 2)
        #expect(usage.err.contains("--object-etag, --object-digest and --reload need --object-key"), "\(usage.err)")
        let object = ["--table", "keyless", "--object-key", "a/src-2024-01-01.jsonl.zst", "--object-etag", "e1"]
        let (first, firstJSON) = try load(db, stream, object)
        #expect(first.status == 0, "\(first.err)")
        #expect(firstJSON["ledger"] as? String == "recorded" && firstJSON["inserted"] as? Int == 3)
        #expect(!first.err.contains("no unique constraint"), "\(first.err)")
        let (second, secondJSON) = try load(db, stream, object)
        #expect(second.status == 0, "\(second.err)")
        #expect(secondJSON["ledger"] as? String == "already_loaded" && secondJSON["inserted"] as? Int == 0)
        #expect(try db.value("SELECT count(*) FROM keyless") == "3")
        var changed = object
        changed[changed.count - 1] = "e2"
        let (moved, movedJSON) = try load(db, stream, changed)
        #expect(moved.status == 0, "\(moved.err)")
        #expect(movedJSON["ledger"] as? String == "changed" && movedJSON["inserted"] as? Int == 0)
        #expect(moved.err.contains("changed since it was loaded") && moved.err.contains("ETag e1, now e2"), "\(moved.err)")
        let (reloaded, reloadedJSON) = try load(db, stream, changed + ["--reload"])
        #expect(reloaded.status == 0, "\(reloaded.err)")
        #expect(reloadedJSON["ledger"] as? String == "reloaded" && reloadedJSON["inserted"] as? Int == 3)
        #expect(reloaded.err.contains("may duplicate its rows"), "\(reloaded.err)")
        #expect(try db.value("SELECT count(*) FROM keyless") == "6")
        #expect(try db.value("SELECT target_table || ' ' || object_key || ' ' || etag || ' ' || rows_loaded || ' ' || loads FROM pgarchive_restore_ledger")
                == "public.keyless a/src-2024-01-01.jsonl.zst e2 3 2")
        // A load that fails in its transaction (a NOT NULL the rows break) records nothing.
        try db.value("CREATE TABLE strict (LIKE src); ALTER TABLE strict ALTER COLUMN v SET NOT NULL")
        let (failed, _) = try load(db, stream, ["--table", "strict", "--object-key", "a/src-2024-01-02.jsonl.zst", "--object-etag", "e3"])
        #expect(failed.status == 1)
        #expect(try db.value("SELECT count(*) FROM pgarchive_restore_ledger WHERE object_key = 'a/src-2024-01-02.jsonl.zst'") == "0")
        #expect(try db.value("SELECT count(*) FROM strict") == "0")
    }
}
