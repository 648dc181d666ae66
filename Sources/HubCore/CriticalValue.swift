/// Who acknowledged a critical value, and what they read back.
public struct Acknowledgement: Sendable, Codable, Equatable {
    /// The person who took the notice, by name (they may have no account at the hub).
    public var name: String
    /// What they repeated back, to show it was understood (回读).
    public var readBack: String
    public var practitionerId: String?
    public var at: Timestamp

    public init(name: String, readBack: String, practitionerId: String?, at: Timestamp) {
        self.name = name
        self.readBack = readBack
        self.practitionerId = practitionerId
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case name, at
        case readBack = "read_back"
        case practitionerId = "practitioner_id"
    }
}

/// A critical value (危急值) notice: flagged by a reader, delivered to the clinic at once, acknowledged by a named
/// person with read-back, escalated when no acknowledgement comes in time. The whole chain is kept.
public struct CriticalValueNotice: Sendable, Codable, Equatable {
    public var id: String
    public var examId: String
    public var clinicId: String
    public var centerId: String?
    public var patientName: String?
    public var itemCode: String
    public var priority: Priority
    public var findings: [CriticalFinding]
    public var flaggedBy: Signer
    public var flaggedAt: Timestamp
    public var ackDueAt: Timestamp
    public var deliveryId: String?
    public var acknowledgement: Acknowledgement?
    public var escalatedAt: Timestamp?
    public var escalationDeliveryId: String?

    public init(
        id: String, examId: String, clinicId: String, centerId: String?, patientName: String?, itemCode: String,
        priority: Priority, findings: [CriticalFinding], flaggedBy: Signer, flaggedAt: Timestamp, ackDueAt: Timestamp
    ) {
        self.id = id
        self.examId = examId
        self.clinicId = clinicId
        self.centerId = centerId
        self.patientName = patientName
        self.itemCode = itemCode
        self.priority = priority
        self.findings = findings
        self.flaggedBy = flaggedBy
        self.flaggedAt = flaggedAt
        self.ackDueAt = ackDueAt
    }

    enum CodingKeys: String, CodingKey {
        case id, priority, findings, acknowledgement
        case examId = "exam_id"
        case clinicId = "clinic_id"
        case centerId = "center_id"
        case patientName = "patient_name"
        case itemCode = "item_code"
        case flaggedBy = "flagged_by"
        case flaggedAt = "flagged_at"
        case ackDueAt = "ack_due_at"
        case deliveryId = "delivery_id"
        case escalatedAt = "escalated_at"
        case escalationDeliveryId = "escalation_delivery_id"
    }
}

/// Minutes a clinic has to acknowledge a critical value, per priority of the exam.
public struct AcknowledgementDeadlines: Sendable, Equatable {
    public var minutes: [Priority: Int]

    public init(routine: Int = 30, urgent: Int = 15, asap: Int = 10, stat: Int = 10) {
        minutes = [.routine: routine, .urgent: urgent, .asap: asap, .stat: stat]
    }

    public func due(after flagged: Timestamp, priority: Priority) -> Timestamp {
        flagged.adding(milliseconds: Int64(minutes[priority] ?? 30) * 60_000)
    }
}
