import Foundation
import HubCore

/// A result ready to be inserted: the record, its stored document and its keyed patient identifiers. Made before the
/// write, so the encoding need not happen in the writer.
public struct StorableResult: Sendable {
    public let record: ResultRecord
    public let body: String
    public let patientKeys: [String]
    /// Each distinct identifier of the patient with its key, in the record's order (for the patient index); empty
    /// when the keys were given without their identifiers.
    public let keyedIdentifiers: [(key: String, identifier: PatientIdentifier)]

    public init(_ record: ResultRecord, patientKeys: [String]) {
        self.record = record
        self.body = record.jsonDocument
        self.patientKeys = patientKeys
        self.keyedIdentifiers = []
    }

    /// A result with its patient's keys made here, where it is prepared, not in the transaction that stores it.
    public init(_ record: ResultRecord, keys: PatientKeys) {
        self.record = record
        self.body = record.jsonDocument
        keyedIdentifiers = keys.keyed(record.patient)
        patientKeys = Array(Set(keyedIdentifiers.map(\.key))).sorted()
    }
}

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

    public init(
        checks: Int, reminders: Int, adoptions: Int, retests: Int, retestsByReason: [String: Int],
        recognitionRate: Double?, crossInstitutionRetrievals: Int, savings: Money, savingsByCategory: [String: Money]
    ) {
        self.checks = checks
        self.reminders = reminders
        self.adoptions = adoptions
        self.retests = retests
        self.retestsByReason = retestsByReason
        self.recognitionRate = recognitionRate
        self.crossInstitutionRetrievals = crossInstitutionRetrievals
        self.savings = savings
        self.savingsByCategory = savingsByCategory
    }

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
}
