import Crypto
import Foundation
import GRDB
import HubCore

/// The append-only, SHA-256-chained audit log. Each record's hash covers its fields and the previous hash, so
/// changing, inserting or removing any record breaks every link after it.
public enum AuditLog {
    public static let genesis = String(repeating: "0", count: 64)

    /// Appends inside the caller's transaction, so the audit record commits or rolls back with the change.
    @discardableResult
    public static func append(_ db: Database, _ event: AuditEvent, at time: Timestamp) throws -> AuditRecord {
        // Cached statements: every audited request runs these two.
        let last = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"))
        let seq: Int64 = (last?["seq"] as Int64? ?? 0) + 1
        let prev: String = last?["hash"] ?? genesis
        var record = AuditRecord(
            seq: seq, at: time, actor: event.actor, institutionId: event.institutionId, action: event.action,
            targetType: event.targetType, targetId: event.targetId, patientKey: event.patientKey,
            remoteAddress: event.remoteAddress, requestId: event.requestId, detail: event.detail, prevHash: prev,
            hash: "")
        record.hash = hash(of: record)
        try db.cachedStatement(
            sql: """
                INSERT INTO audit_log (seq, at, actor, institution_id, action, target_type, target_id, patient_key,
                                       remote_addr, request_id, detail, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                seq, time.millisecondsSinceEpoch, record.actor, record.institutionId, record.action, record.targetType,
                record.targetId, record.patientKey, record.remoteAddress, record.requestId, record.detail, prev,
                record.hash,
            ])
        return record
    }

    /// The digest of every field but `hash`, in a fixed order with unambiguous separators.
    static func hash(of r: AuditRecord) -> String {
        let fields: [String?] = [
            String(r.seq), String(r.at.millisecondsSinceEpoch), r.actor, r.institutionId, r.action, r.targetType,
            r.targetId, r.patientKey, r.remoteAddress, r.requestId, r.detail, r.prevHash,
        ]
        // Length-prefixing makes the encoding injective: no two field lists give the same bytes.
        var canonical = ""
        for field in fields {
            if let field {
                canonical += String(field.utf8.count) + ":" + field + ";"
            } else {
                canonical += "-;"
            }
        }
        return SHA256.hash(data: Data(canonical.utf8)).withUnsafeBytes(Hex.encode)
    }

    /// Walks the whole chain in order and reports the first record that does not hold.
    public static func verify(_ db: Database) throws -> AuditVerification {
        var expectedPrev = genesis
        var expectedSeq: Int64 = 1
        var checked = 0
        let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit_log ORDER BY seq")
        while let row = try cursor.next() {
            let record = self.record(row)
            if record.seq != expectedSeq {
                return AuditVerification(
                    checked: checked, firstBroken: record.seq,
                    reason: "record \(expectedSeq) is missing (found \(record.seq) next)")
            }
            if record.prevHash != expectedPrev {
                return AuditVerification(
                    checked: checked, firstBroken: record.seq, reason: "prev_hash does not match the previous record")
            }
            if hash(of: record) != record.hash {
                return AuditVerification(
                    checked: checked, firstBroken: record.seq, reason: "contents do not match the record's hash")
            }
            expectedPrev = record.hash
            expectedSeq += 1
            checked += 1
        }
        return AuditVerification(checked: checked, firstBroken: nil, reason: nil)
    }

    /// Records matching the filters, oldest first, keyset-paginated by sequence number.
    public static func records(
        _ db: Database, actor: String? = nil, patientKey: String? = nil, targetId: String? = nil,
        from: Timestamp? = nil,
        to: Timestamp? = nil, after cursor: String?, limit: Int
    ) throws -> Page<AuditRecord> {
        var filter = SQLFilter()
        filter.add("actor = ?", actor)
        filter.add("patient_key = ?", patientKey)
        filter.add("target_id = ?", targetId)
        filter.add("at >= ?", from?.millisecondsSinceEpoch)
        filter.add("at < ?", to?.millisecondsSinceEpoch)
        if let cursor {
            guard let last = Cursor.decode(cursor), let seq = Int64(last) else {
                throw HubError.validation("next", "is not a cursor from this API")
            }
            filter.add("seq > ?", seq)
        }
        var arguments = filter.arguments
        _ = arguments.append(contentsOf: [limit + 1])
        let rows = try Row.fetchAll(
            db, sql: "SELECT * FROM audit_log \(filter.whereClause) ORDER BY seq LIMIT ?", arguments: arguments)
        return Cursor.page(rows.map(record), limit: limit) { String($0.seq) }
    }

    public static func count(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_log") ?? 0
    }

    static func record(_ row: Row) -> AuditRecord {
        AuditRecord(
            seq: row["seq"], at: Timestamp(millisecondsSinceEpoch: row["at"]), actor: row["actor"],
            institutionId: row["institution_id"], action: row["action"], targetType: row["target_type"],
            targetId: row["target_id"], patientKey: row["patient_key"], remoteAddress: row["remote_addr"],
            requestId: row["request_id"], detail: row["detail"], prevHash: row["prev_hash"], hash: row["hash"])
    }
}
