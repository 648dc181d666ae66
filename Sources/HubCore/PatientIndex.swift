import Foundation

/// A person as the master patient index knows them: every identifier the hub has seen belong to one human being,
/// across institutions (a resident ID, a medical-insurance number, a health card, each hospital's record number).
///
/// Identifiers are linked when the hub sees them together for one patient: in one exam, one result, one HL7 message
/// or an ADT record, or when a person confirms a suggested match. A strong identifier links deterministically because
/// it names one person wherever it appears. Name, birth date and sex never link by themselves: two people share them
/// often enough that a match on them is only suggested, for a person to confirm (`PersonReview`).
public struct Person: Sendable, Codable, Equatable {
    public var id: String
    public var identifiers: [LinkedIdentifier]

    public init(id: String, identifiers: [LinkedIdentifier]) {
        self.id = id
        self.identifiers = identifiers
    }

    /// Person ids sort by creation time, so the older of two persons is the one a merge keeps.
    public static func newID(at time: Timestamp) -> String { GeneratedID.make("psn", at: time) }
}

/// One identifier of a person, with where the link came from.
public struct LinkedIdentifier: Sendable, Codable, Equatable {
    public var system: String
    public var value: String
    public var linkedAt: Timestamp
    /// What linked it: `result:<id>`, `exam:<id>`, `hl7:<sender>:<control id>`, or `person:<practitioner>` for a
    /// person's decision.
    public var source: String

    public init(_ identifier: PatientIdentifier, linkedAt: Timestamp, source: String) {
        self.system = identifier.system
        self.value = identifier.value
        self.linkedAt = linkedAt
        self.source = source
    }

    public var identifier: PatientIdentifier { PatientIdentifier(system: system, value: value) }

    enum CodingKeys: String, CodingKey {
        case system, value, source
        case linkedAt = "linked_at"
    }
}

/// What makes an identifier system strong, or one per person.
public enum IdentifierRules {
    /// The electronic health card (居民电子健康卡) number.
    public static let healthCard = "cn-health-card"

    /// National identifiers assigned once to one person: they link every record that carries them.
    public static let strongSystems: Set<String> = [
        PatientIdentifier.residentID, PatientIdentifier.medicalInsurance, healthCard,
    ]

    /// Systems of which a person has at most one value: records that would give one person two of them are not
    /// linked, but put before a person to decide (`PersonReview.Kind.conflict`).
    public static let onePerPerson: Set<String> = [PatientIdentifier.residentID]

    /// The most identifiers one person holds. A person with more is not a person but a value many records share (a
    /// record number a system fills in for unknown patients); a link past it is put before a person instead.
    public static let maximumPerPerson = 64

    /// Values that systems fill in when they do not know the identifier: they are stored with the record, and found
    /// by a search that names them, but never link two records.
    public static func isPlaceholder(_ value: String) -> Bool {
        let trimmed = value.trimmingCharacters(in: .whitespaces).lowercased()
        guard let first = trimmed.first else { return true }
        if trimmed.allSatisfy({ $0 == first }) { return true }
        if trimmed.allSatisfy({ !$0.isLetter && !$0.isNumber }) { return true }
        return placeholders.contains(trimmed)
    }

    static let placeholders: Set<String> = [
        "unknown", "unk", "none", "null", "nil", "n/a", "na", "test", "temp", "tmp", "anonymous", "noname",
        "123456", "1234567", "12345678", "123456789", "1234567890", "无", "不详", "未知", "暂无", "临时", "匿名",
    ]
}

/// A question the index puts to a person: two persons that may be one (a suggestion, from name, birth date and sex),
/// or a record whose identifiers would join persons that cannot be one (a conflict: two resident IDs, or identifiers a
/// person separated before).
public struct PersonReview: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable, ClosedSet {
        case suggestion, conflict
    }

    public enum Status: String, Sendable, Codable, CaseIterable, ClosedSet {
        /// Waiting for a person.
        case open
        /// Decided: the persons were merged.
        case merged
        /// Decided: they are different people, and the index keeps them apart from now on.
        case separate
    }

    public var id: String
    public var kind: Kind
    public var status: Status
    /// The two persons in question, older first.
    public var personIds: [String]
    /// Why the index asks, in words (`same name, birth date and sex`, `two resident IDs`).
    public var reason: String
    /// The record that raised the question.
    public var source: String
    public var createdAt: Timestamp
    public var decidedAt: Timestamp?
    public var decidedBy: String?

    public init(
        id: String, kind: Kind, status: Status = .open, personIds: [String], reason: String, source: String,
        createdAt: Timestamp, decidedAt: Timestamp? = nil, decidedBy: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.status = status
        self.personIds = personIds
        self.reason = reason
        self.source = source
        self.createdAt = createdAt
        self.decidedAt = decidedAt
        self.decidedBy = decidedBy
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, status, reason, source
        case personIds = "person_ids"
        case createdAt = "created_at"
        case decidedAt = "decided_at"
        case decidedBy = "decided_by"
    }
}

/// How a prior result was found for the identifiers a query gave: under one of them, or under another identifier of
/// the same person in the patient index.
public struct FoundBy: Sendable, Codable, Equatable, Hashable {
    /// The identifier of the result's patient that matched.
    public var identifier: PatientIdentifier
    /// True when it is not one the query gave, but linked to one of them in the patient index.
    public var linked: Bool

    public init(identifier: PatientIdentifier, linked: Bool) {
        self.identifier = identifier
        self.linked = linked
    }
}
