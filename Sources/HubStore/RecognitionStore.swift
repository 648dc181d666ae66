import Foundation
import GRDB
import HubCore

/// A stored recognition check: its inputs, the catalog version, and the answer, so it can be read back later and
/// give the same answer.
public struct RecognitionCheck: Sendable, JSONDocument, Equatable {
    public var id: String
    public var institutionId: String
    public var practitionerId: String?
    public var department: String?
    public var patient: PatientIdentifier
    public var itemCode: String
    public var requestedCode: String
    public var emergency: Bool
    public var catalogVersion: String?
    public var candidates: [RecognitionCandidate]
    public var peers: [PeerOutcome]
    public var createdAt: Timestamp

    public init(
        id: String, institutionId: String, practitionerId: String?, department: String?, patient: PatientIdentifier,
        itemCode: String, requestedCode: String, emergency: Bool, catalogVersion: String?,
        candidates: [RecognitionCandidate], peers: [PeerOutcome] = [], createdAt: Timestamp
    ) {
        self.id = id
        self.institutionId = institutionId
        self.practitionerId = practitionerId
        self.department = department
        self.patient = patient
        self.itemCode = itemCode
        self.requestedCode = requestedCode
        self.emergency = emergency
        self.catalogVersion = catalogVersion
        self.candidates = candidates
        self.peers = peers
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, department, patient, emergency, candidates, peers
        case institutionId = "institution_id"
        case practitionerId = "practitioner_id"
        case itemCode = "item_code"
        case requestedCode = "requested_code"
        case catalogVersion = "catalog_version"
        case createdAt = "created_at"
    }
}

/// A clinician's decision on a check: adopt a result, or retest with a reason.
public struct RecognitionDecision: Sendable, Codable, Equatable {
    /// Adopt a recognizable result, or do the test again.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case adopt, retest
    }

    public var id: String
    public var checkId: String
    public var resultId: String?
    public var decision: Kind
    public var reasonCode: RetestReason?
    public var note: String?
    public var institutionId: String
    public var department: String?
    public var practitionerId: String?
    public var itemCode: String
    public var category: ItemCategory?
    public var price: Money
    public var crossInstitution: Bool
    public var createdAt: Timestamp

    public init(
        id: String, checkId: String, resultId: String?, decision: Kind, reasonCode: RetestReason?, note: String?,
        institutionId: String, department: String?, practitionerId: String?, itemCode: String, category: ItemCategory?,
        price: Money, crossInstitution: Bool, createdAt: Timestamp
    ) {
        self.id = id
        self.checkId = checkId
        self.resultId = resultId
        self.decision = decision
        self.reasonCode = reasonCode
        self.note = note
        self.institutionId = institutionId
        self.department = department
        self.practitionerId = practitionerId
        self.itemCode = itemCode
        self.category = category
        self.price = price
        self.crossInstitution = crossInstitution
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, decision, note, department, category, price
        case checkId = "check_id"
        case resultId = "result_id"
        case reasonCode = "reason_code"
        case institutionId = "institution_id"
        case practitionerId = "practitioner_id"
        case itemCode = "item_code"
        case crossInstitution = "cross_institution"
        case createdAt = "created_at"
    }
}

public enum RecognitionStore {
    /// Results of a patient for an item, by any of the patient's keyed identifiers.
    public static func results(_ db: Database, patientKeys: [String], itemCode: String) throws -> [ResultRecord] {
        guard !patientKeys.isEmpty else { return [] }
        let marks = patientKeys.map { _ in "?" }.joined(separator: ",")
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

/// Filters of the statistics regulators read.
public struct StatsFilter: Sendable {
    public var from: Timestamp
    public var to: Timestamp
    public var institutionId: String?
    public var department: String?
    public var itemCode: String?
    public var category: ItemCategory?

    public init(
        from: Timestamp, to: Timestamp, institutionId: String? = nil, department: String? = nil,
        itemCode: String? = nil,
        category: ItemCategory? = nil
    ) {
        self.from = from
        self.to = to
        self.institutionId = institutionId
        self.department = department
        self.itemCode = itemCode
        self.category = category
    }
}

/// The statistics: reminders, adoptions, re-tests by reason, the recognition rate, retrievals across institutions,
/// and money saved by category.
public struct RecognitionStats: Sendable, Codable, Equatable {
    public var checks: Int
    public var reminders: Int
    public var adoptions: Int
    public var retests: Int
    public var retestsByReason: [String: Int]
    /// Adoptions ÷ reminders; nil when there were no reminders.
    public var recognitionRate: Double?
    public var crossInstitutionRetrievals: Int
    public var savings: Money
    public var savingsByCategory: [String: Money]

    /// Written out in full: an undefined rate is an explicit `null`, never a missing key.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(checks, forKey: .checks)
        try c.encode(reminders, forKey: .reminders)
        try c.encode(adoptions, forKey: .adoptions)
        try c.encode(retests, forKey: .retests)
        try c.encode(retestsByReason, forKey: .retestsByReason)
        try c.encode(recognitionRate, forKey: .recognitionRate)
        try c.encode(crossInstitutionRetrievals, forKey: .crossInstitutionRetrievals)
        try c.encode(savings, forKey: .savings)
        try c.encode(savingsByCategory, forKey: .savingsByCategory)
    }

    enum CodingKeys: String, CodingKey {
        case checks, reminders, adoptions, retests, savings
        case retestsByReason = "retests_by_reason"
        case recognitionRate = "recognition_rate"
        case crossInstitutionRetrievals = "cross_institution_retrievals"
        case savingsByCategory = "savings_by_category"
    }

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
