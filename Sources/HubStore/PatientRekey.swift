import GRDB
import HubCore

/// Moves exams and results stored before patient identifiers had one spelling (`PatientIdentifier.canonical`) to the
/// keys of their canonical form, so that a result registered as `…123x` is found by a check for `…123X`.
///
/// Reading a stored document already gives canonical identifiers; what is left behind are the keyed rows
/// (`result_patients`, `exam_patients`) made from the old spelling, and the old spelling in the document. A document
/// whose canonical keys differ from its rows is written again with its canonical identifiers and new rows, page by
/// page, each page in a transaction of its own; the task's row in `maintenance_tasks` goes when every page is done,
/// so an interrupted run starts again and redoes nothing twice. Audit records keep the keys they were written with:
/// the chain is never rewritten.
extension PatientRekey {
    /// The task's name in `maintenance_tasks`, inserted by the migration that brought canonical identifiers.
    public static let task = "rekey_patient_identifiers"
    static let pageSize = 500

    /// Runs the task if it is still to do; answers what it rewrote.
    public static func runIfPending(_ database: AppDatabase, keys: PatientKeys) async throws -> Outcome {
        var outcome = Outcome()
        let pending = try await database.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM maintenance_tasks WHERE name = ?", arguments: [task]) ?? false
        }
        guard pending else { return outcome }
        outcome.ran = true
        outcome.results = try await rekey(database, keys: keys, table: ResultRows.self)
        outcome.exams = try await rekey(database, keys: keys, table: ExamRows.self)
        try await database.write { db in
            try db.execute(sql: "DELETE FROM maintenance_tasks WHERE name = ?", arguments: [task])
        }
        return outcome
    }

    private static func rekey<Rows: KeyedRows>(
        _ database: AppDatabase, keys: PatientKeys, table: Rows.Type
    )
        async throws -> Int
    {
        var next = ""
        var changed = 0
        while true {
            let after = next
            let (last, count) = try await database.write(alone: true) { db -> (String?, Int) in
                let rows = try Row.fetchAll(
                    db, sql: "SELECT id, body FROM \(Rows.table) WHERE id > ? ORDER BY id LIMIT \(pageSize)",
                    arguments: [after])
                var count = 0
                for row in rows {
                    let id: String = row["id"]
                    let stored = Set(
                        try String.fetchAll(
                            db, sql: "SELECT patient_key FROM \(Rows.keyTable) WHERE \(Rows.idColumn) = ?",
                            arguments: [id]))
                    let record = try Rows.decode(row["body"])
                    let canonical = keys.keys(for: Rows.patient(of: record))
                    guard Set(canonical) != stored else { continue }
                    try Rows.rewrite(db, record, id: id, keys: canonical)
                    count += 1
                }
                return (rows.last?["id"], count)
            }
            changed += count
            guard let last else { return changed }
            next = last
        }
    }
}

/// A table of documents with keyed patient rows beside it.
private protocol KeyedRows {
    associatedtype Record
    static var table: String { get }
    static var keyTable: String { get }
    static var idColumn: String { get }
    static func decode(_ body: String) throws -> Record
    static func patient(of record: Record) -> Patient
    static func rewrite(_ db: Database, _ record: Record, id: String, keys: [String]) throws
}

private enum ResultRows: KeyedRows {
    static let table = "results"
    static let keyTable = "result_patients"
    static let idColumn = "result_id"
    static func decode(_ body: String) throws -> ResultRecord { try ResultStore.decode(body) }
    static func patient(of record: ResultRecord) -> Patient { record.patient }
    static func rewrite(_ db: Database, _ record: ResultRecord, id: String, keys: [String]) throws {
        try db.execute(sql: "UPDATE results SET body = ? WHERE id = ?", arguments: [record.jsonDocument, id])
        try db.execute(sql: "DELETE FROM result_patients WHERE result_id = ?", arguments: [id])
        for key in keys {
            try db.execute(
                sql: "INSERT INTO result_patients (patient_key, item_code, result_id) VALUES (?, ?, ?)",
                arguments: [key, record.itemCode, id])
        }
    }
}

private enum ExamRows: KeyedRows {
    static let table = "exams"
    static let keyTable = "exam_patients"
    static let idColumn = "exam_id"
    static func decode(_ body: String) throws -> Exam { try HubJSON.decode(Exam.self, from: body) }
    static func patient(of record: Exam) -> Patient { record.patient }
    static func rewrite(_ db: Database, _ record: Exam, id: String, keys: [String]) throws {
        try db.execute(
            sql: "UPDATE exams SET body = ? WHERE id = ?", arguments: [try HubJSON.encodeString(record), id])
        try db.execute(sql: "DELETE FROM exam_patients WHERE exam_id = ?", arguments: [id])
        for key in keys {
            try db.execute(sql: "INSERT INTO exam_patients (patient_key, exam_id) VALUES (?, ?)", arguments: [key, id])
        }
    }
}
