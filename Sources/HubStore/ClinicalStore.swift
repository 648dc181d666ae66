import Foundation
import GRDB
import HubCore

/// Critical-value notices and their acknowledgement chain.
public enum CriticalValueStore {
    public static func insert(_ db: Database, _ notice: CriticalValueNotice) throws {
        try db.execute(
            sql: """
                INSERT INTO critical_values (id, exam_id, clinic_id, center_id, acknowledged, ack_due_at, escalated, body)
                VALUES (?, ?, ?, ?, 0, ?, 0, ?)
                """,
            arguments: [
                notice.id, notice.examId, notice.clinicId, notice.centerId, notice.ackDueAt.millisecondsSinceEpoch,
                try HubJSON.encodeString(notice),
            ])
    }

    public static func update(_ db: Database, _ notice: CriticalValueNotice) throws {
        try db.execute(
            sql: "UPDATE critical_values SET acknowledged = ?, escalated = ?, body = ? WHERE id = ?",
            arguments: [
                notice.acknowledgement != nil, notice.escalatedAt != nil, try HubJSON.encodeString(notice), notice.id,
            ])
    }

    public static func notice(_ db: Database, id: String) throws -> CriticalValueNotice? {
        try String.fetchOne(db, sql: "SELECT body FROM critical_values WHERE id = ?", arguments: [id])
            .map { try HubJSON.decode(CriticalValueNotice.self, from: $0) }
    }

    /// Notices for a clinic or for centers, optionally only the unacknowledged ones.
    public static func notices(
        _ db: Database, clinicId: String?, centerIds: [String]?, examId: String? = nil, acknowledged: Bool?,
        after cursor: String?, limit: Int
    ) throws -> Page<CriticalValueNotice> {
        // Visible to the clinic it was sent to, or to the centers' staff: one OR-ed condition.
        var visibility = SQLFilter()
        visibility.add("clinic_id = ?", clinicId)
        visibility.add("center_id IN (?)", list: centerIds.flatMap { $0.isEmpty ? nil : $0 })
        var filter = SQLFilter()
        filter.add(
            visibility.conditions.isEmpty ? "0" : "(" + visibility.conditions.joined(separator: " OR ") + ")",
            arguments: visibility.arguments)
        filter.add("exam_id = ?", examId)
        filter.add("acknowledged = ?", acknowledged)
        return try Documents.page(db, "critical_values", filter, after: cursor, limit: limit, id: \.id)
    }

    /// Unacknowledged, not yet escalated notices past their deadline.
    /// Unacknowledged notices past due that this hub escalates: not those of exams received from a peer hub, whose
    /// clinic is notified, and escalated, by that hub.
    public static func overdue(_ db: Database, now: Timestamp) throws -> [CriticalValueNotice] {
        try String.fetchAll(
            db,
            sql: """
                SELECT body FROM critical_values
                WHERE acknowledged = 0 AND escalated = 0 AND ack_due_at <= ?
                  AND exam_id NOT IN (SELECT id FROM exams WHERE origin_hub IS NOT NULL)
                """,
            arguments: [now.millisecondsSinceEpoch]
        ).map { try HubJSON.decode(CriticalValueNotice.self, from: $0) }
    }
}

/// Results in the registry, indexed by keyed patient identifiers and item.
public enum ResultStore {
    public static func insert(_ db: Database, _ result: ResultRecord, patientKeys: [String]) throws {
        try insert(db, StorableResult(result, patientKeys: patientKeys))
    }

    public static func insert(_ db: Database, _ result: StorableResult) throws {
        let record = result.record
        try db.cachedStatement(
            sql: """
                INSERT INTO results (id, item_code, institution_id, exam_id, performed_at, report_status, created_at, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            record.id, record.itemCode, record.institutionId, record.examId, record.performedAt.millisecondsSinceEpoch,
            record.reportStatus.rawValue, record.createdAt.millisecondsSinceEpoch, result.body,
        ])
        try file(db, result)
    }

    /// Files a result under its patient's keys and its item, where searches find it.
    private static func file(_ db: Database, _ result: StorableResult) throws {
        let keys = try db.cachedStatement(
            sql: "INSERT INTO result_patients (patient_key, item_code, result_id) VALUES (?, ?, ?)")
        for key in result.patientKeys {
            try keys.execute(arguments: [key, result.record.itemCode, result.record.id])
        }
    }

    /// A stored document read back: by the hub's own decoder, or by `JSONDecoder` when that one finds anything it
    /// does not expect (a document from an older version, say), so the two never disagree on what a document says.
    public static func decode(_ body: String) throws -> ResultRecord {
        try HubJSON.decode(ResultRecord.self, from: body)
    }

    public static func update(_ db: Database, _ result: ResultRecord) throws {
        try update(db, result, body: result.jsonDocument)
    }

    private static func update(_ db: Database, _ result: ResultRecord, body: String) throws {
        try db.cachedStatement(
            sql: "UPDATE results SET item_code = ?, performed_at = ?, report_status = ?, body = ? WHERE id = ?"
        ).execute(arguments: [
            result.itemCode, result.performedAt.millisecondsSinceEpoch, result.reportStatus.rawValue, body, result.id,
        ])
    }

    public static func result(_ db: Database, id: String) throws -> ResultRecord? {
        try Documents.fetch(db, "results", id: id, decode: decode)
    }

    /// Replaces a result with a new version, filed under the new version's patient keys and item (a correction may
    /// change the patient's identifiers, the item or the time); the version it replaces stays readable in the history.
    public static func supersede(_ db: Database, old: ResultRecord, new: StorableResult, now: Timestamp) throws {
        precondition(old.id == new.record.id, "a new version keeps the result's id")
        try db.execute(
            sql: "INSERT INTO result_history (result_id, version, body, replaced_at) VALUES (?, ?, ?, ?)",
            arguments: [old.id, old.reportVersion, old.jsonDocument, now.millisecondsSinceEpoch])
        try update(db, new.record, body: new.body)
        try db.execute(sql: "DELETE FROM result_patients WHERE result_id = ?", arguments: [old.id])
        try file(db, new)
    }

    /// Every current result filed under any of these keyed identifiers, latest performed first.
    public static func results(_ db: Database, patientKeys: [String]) throws -> [ResultRecord] {
        guard !patientKeys.isEmpty else { return [] }
        let marks = SQLFilter.marks(patientKeys.count)
        return try String.fetchAll(
            db,
            sql: """
                SELECT body FROM results WHERE id IN (
                    SELECT result_id FROM result_patients WHERE patient_key IN (\(marks)))
                """,
            arguments: StatementArguments(patientKeys)
        ).map(decode).sorted { $0.performedAt > $1.performedAt }
    }

    /// Every earlier version of a result, oldest first.
    public static func history(_ db: Database, id: String) throws -> [ResultRecord] {
        try String.fetchAll(
            db, sql: "SELECT body FROM result_history WHERE result_id = ? ORDER BY version", arguments: [id]
        )
        .map(ResultStore.decode)
    }
}
