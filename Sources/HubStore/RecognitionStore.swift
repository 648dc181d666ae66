import Foundation
import GRDB
import HubCore

public enum RecognitionStore {
    /// Results of a patient for an item, by any of the patient's keyed identifiers.
    public static func results(_ db: Database, patientKeys: [String], itemCode: String) throws -> [ResultRecord] {
        guard !patientKeys.isEmpty else { return [] }
        let marks = SQLFilter.marks(patientKeys.count)
        // Cached: a check runs it for one or two keys, so there are few shapes of it.
        return try String.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT body FROM results WHERE id IN (
                        SELECT result_id FROM result_patients WHERE item_code = ? AND patient_key IN (\(marks)))
                    """),
            arguments: StatementArguments([itemCode] + patientKeys)
        ).map(ResultStore.decode)
    }

    /// Stores a check. `body` is the check as `HubJSON` encodes it, when the caller already has it (it answers with
    /// the same bytes).
    public static func insert(_ db: Database, _ check: RecognitionCheck, body: Data? = nil) throws {
        let category = check.candidates.first?.category?.rawValue
        try db.cachedStatement(
            sql: """
                INSERT INTO recognition_checks (id, institution_id, department, practitioner_id, item_code, category,
                    emergency, catalog_version, reminded, recognizable_elsewhere, created_at, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                check.id, check.institutionId, check.department, check.practitionerId, check.itemCode, category,
                check.emergency, check.catalogVersion, check.candidates.contains(where: \.recognizable),
                check.candidates.filter { $0.recognizable && $0.institutionId != check.institutionId }.count,
                check.createdAt.millisecondsSinceEpoch,
                body.map { String(decoding: $0, as: UTF8.self) } ?? check.jsonDocument,
            ])
    }

    public static func check(_ db: Database, id: String) throws -> RecognitionCheck? {
        try Documents.fetch(db, "recognition_checks", id: id)
    }

    public static func insert(_ db: Database, _ decision: RecognitionDecision) throws {
        try db.execute(
            sql: """
                INSERT INTO recognition_decisions (id, check_id, result_id, decision, reason_code, institution_id,
                    department, practitioner_id, item_code, category, price_fen, cross_institution, created_at, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                decision.id, decision.checkId, decision.resultId, decision.decision.rawValue, decision.reasonCode?.code,
                decision.institutionId, decision.department, decision.practitionerId, decision.itemCode,
                decision.category?.rawValue, decision.price.fen, decision.crossInstitution,
                decision.createdAt.millisecondsSinceEpoch, try HubJSON.encodeString(decision),
            ])
    }

    public static func decisions(_ db: Database, checkId: String) throws -> [RecognitionDecision] {
        try String.fetchAll(
            db, sql: "SELECT body FROM recognition_decisions WHERE check_id = ? ORDER BY id", arguments: [checkId]
        )
        .map { try HubJSON.decode(RecognitionDecision.self, from: $0) }
    }
}

extension RecognitionStats {
    public static func compute(_ db: Database, _ f: StatsFilter) throws -> RecognitionStats {
        // Checks and decisions carry the same columns, so one filter selects from both.
        var filter = SQLFilter()
        filter.add("created_at >= ?", f.from.millisecondsSinceEpoch)
        filter.add("created_at < ?", f.to.millisecondsSinceEpoch)
        filter.add("institution_id = ?", f.institutionId)
        filter.add("department = ?", f.department)
        filter.add("item_code = ?", f.itemCode)
        filter.add("category = ?", f.category?.rawValue)
        let checkRow = try Row.fetchOne(
            db,
            sql: "SELECT COUNT(*) AS n, COALESCE(SUM(reminded), 0) AS r FROM recognition_checks \(filter.whereClause)",
            arguments: filter.arguments)!
        var stats = RecognitionStats(
            checks: checkRow["n"], reminders: checkRow["r"], adoptions: 0, retests: 0, retestsByReason: [:],
            recognitionRate: nil, crossInstitutionRetrievals: 0, savings: .zero, savingsByCategory: [:])
        for category in ItemCategory.allCases { stats.savingsByCategory[category.rawValue] = .zero }
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT decision, reason_code, category, COUNT(*) AS n, COALESCE(SUM(price_fen), 0) AS fen,
                       COALESCE(SUM(cross_institution), 0) AS cross
                FROM recognition_decisions \(filter.whereClause) GROUP BY decision, reason_code, category
                """, arguments: filter.arguments)
        {
            let n: Int = row["n"]
            if row["decision"] == "adopt" {
                stats.adoptions += n
                stats.crossInstitutionRetrievals += row["cross"] as Int
                let fen: Int64 = row["fen"]
                stats.savings = stats.savings + Money(fen: fen)
                if let category: String = row["category"] {
                    stats.savingsByCategory[category] = (stats.savingsByCategory[category] ?? .zero) + Money(fen: fen)
                }
            } else {
                stats.retests += n
                let code = (row["reason_code"] as Int?).map(String.init) ?? "none"
                stats.retestsByReason[code, default: 0] += n
            }
        }
        stats.recognitionRate = stats.reminders == 0 ? nil : Double(stats.adoptions) / Double(stats.reminders)
        return stats
    }
}
