/// Where an exam stands in remote reading. Each step maps to a FHIR Task status plus a local business status.
public enum ExamStep: String, Sendable, Codable, CaseIterable, ClosedSet {
    /// Submitted; no local center fits yet (the reason is recorded).
    case awaitingRouting = "awaiting-routing"
    /// In a center's worklist.
    case waiting
    /// A reader holds the lease.
    case claimed
    /// A report is written and waits for a second, senior signature.
    case awaitingVerification = "awaiting-verification"
    /// Released as preliminary (stat/asap work), still to be verified.
    case preliminary
    /// Verified: the report is final (later versions may amend or correct it).
    case final
    /// Sent back to the clinic (images unreadable, information missing).
    case returned
    case cancelled

    /// FHIR `Task.status`.
    public var taskStatus: String {
        switch self {
        case .awaitingRouting: "requested"
        case .waiting: "received"
        case .claimed, .awaitingVerification, .preliminary: "in-progress"
        case .final: "completed"
        case .returned: "on-hold"
        case .cancelled: "cancelled"
        }
    }

    /// Work a center still owes.
    public var isOpen: Bool { [.waiting, .claimed, .awaitingVerification, .preliminary].contains(self) }
}

/// Status of one report version, as FHIR `DiagnosticReport.status`.
public enum ReportStatus: String, Sendable, Codable, CaseIterable, ClosedSet {
    /// Written, not yet released.
    case partial
    case preliminary
    case final
    case amended
    case corrected
    case cancelled
    case enteredInError = "entered-in-error"

    /// Statuses whose data may be recognized by other institutions.
    public var isRecognizable: Bool { [.final, .amended, .corrected].contains(self) }
}

/// Who did something, frozen at the time it was done.
public struct Signer: Sendable, Codable, Equatable {
    public var practitionerId: String
    public var name: String?
    public var title: PractitionerTitle?
    public var institutionId: String?

    public init(practitionerId: String, name: String?, title: PractitionerTitle?, institutionId: String?) {
        self.practitionerId = practitionerId
        self.name = name
        self.title = title
        self.institutionId = institutionId
    }

    enum CodingKeys: String, CodingKey {
        case name, title
        case practitionerId = "practitioner_id"
        case institutionId = "institution_id"
    }
}

/// A critical value (危急值) flagged in a report.
public struct CriticalFinding: Sendable, Codable, Equatable {
    public var description: String
    public var code: String?

    public init(description: String, code: String? = nil) {
        self.description = description
        self.code = code
    }
}

/// One measured value of a lab item.
public struct LabValue: Sendable, Codable, Equatable {
    public var code: String?
    public var loinc: String?
    public var value: String
    public var unit: String?
    public var referenceRange: String?
    /// `H`, `L`, `HH`, `LL`, `A` (abnormal) or `N`.
    public var flag: String?

    public init(
        code: String? = nil, loinc: String? = nil, value: String, unit: String? = nil, referenceRange: String? = nil,
        flag: String? = nil
    ) {
        self.code = code
        self.loinc = loinc
        self.value = value
        self.unit = unit
        self.referenceRange = referenceRange
        self.flag = flag
    }

    enum CodingKeys: String, CodingKey {
        case code, loinc, value, unit, flag
        case referenceRange = "reference_range"
    }
}

/// One version of an exam's report. The conclusion (the physician's opinion) is kept apart from the findings and
/// values (the data), because only the data may be recognized elsewhere.
public struct ReportVersion: Sendable, Codable, Equatable {
    public var version: Int
    public var status: ReportStatus
    public var findings: String
    public var conclusion: String
    public var criticalValues: [CriticalFinding]
    public var values: [LabValue]
    public var author: Signer
    public var authoredAt: Timestamp
    public var verifier: Signer?
    public var verifiedAt: Timestamp?
    public var releasedAt: Timestamp?
    /// Why an amendment or correction was made.
    public var reason: String?

    enum CodingKeys: String, CodingKey {
        case version, status, findings, conclusion, values, author, verifier, reason
        case criticalValues = "critical_values"
        case authoredAt = "authored_at"
        case verifiedAt = "verified_at"
        case releasedAt = "released_at"
    }
}

/// Recorded consent of the patient to remote reading and data sharing.
public struct Consent: Sendable, Codable, Equatable {
    public enum Method: String, Sendable, Codable, CaseIterable, ClosedSet {
        case written, verbal, electronic
    }

    public var given: Bool
    public var method: Method?
    public var recordedAt: Timestamp?
    public var recordedBy: String?

    public init(given: Bool, method: Method? = nil, recordedAt: Timestamp? = nil, recordedBy: String? = nil) {
        self.given = given
        self.method = method
        self.recordedAt = recordedAt
        self.recordedBy = recordedBy
    }

    enum CodingKeys: String, CodingKey {
        case given, method
        case recordedAt = "recorded_at"
        case recordedBy = "recorded_by"
    }
}

/// The lease a reader holds on an exam.
public struct Claim: Sendable, Codable, Equatable {
    public var reader: Signer
    public var claimedAt: Timestamp
    public var until: Timestamp

    enum CodingKeys: String, CodingKey {
        case reader, until
        case claimedAt = "claimed_at"
    }
}

/// When each step of the turnaround happened.
public struct Milestones: Sendable, Codable, Equatable {
    public var submittedAt: Timestamp
    public var routedAt: Timestamp?
    public var firstClaimedAt: Timestamp?
    public var reportedAt: Timestamp?
    public var verifiedAt: Timestamp?
    public var overdueAt: Timestamp?

    public init(submittedAt: Timestamp) {
        self.submittedAt = submittedAt
    }

    enum CodingKeys: String, CodingKey {
        case submittedAt = "submitted_at"
        case routedAt = "routed_at"
        case firstClaimedAt = "first_claimed_at"
        case reportedAt = "reported_at"
        case verifiedAt = "verified_at"
        case overdueAt = "overdue_at"
    }
}

/// An exam performed at a clinic and read at a shared center.
public struct Exam: Sendable, Codable, Equatable {
    public var id: String
    public var clinicId: String
    public var submittedBy: Signer
    public var patient: Patient
    public var itemCode: String
    public var itemName: String
    public var itemKind: ItemKind
    public var priority: Priority
    public var clinicalInfo: String?
    public var consent: Consent
    public var accessionNumber: String
    public var centerId: String?
    /// Why no center was chosen, while the exam waits for routing.
    public var routingNote: String?
    public var step: ExamStep
    public var claim: Claim?
    public var reports: [ReportVersion]
    public var returnReason: String?
    public var cancelReason: String?
    public var resultId: String?
    public var milestones: Milestones
    public var updatedAt: Timestamp
    /// Counts the exam's changes, so a peer applies the events it receives in order (0 for records stored before
    /// revisions were counted).
    public var revision: Int {
        get { storedRevision ?? 0 }
        set { storedRevision = newValue }
    }
    private var storedRevision: Int?
    /// Set at the submitting hub when the exam was forwarded to a peer hub's center.
    public var forward: ExamForward?
    /// Set at the reading hub when the exam came from a peer hub.
    public var origin: ExamOrigin?

    public init(
        id: String, clinicId: String, submittedBy: Signer, patient: Patient, itemCode: String, itemName: String,
        itemKind: ItemKind, priority: Priority, clinicalInfo: String?, consent: Consent, accessionNumber: String,
        centerId: String? = nil, routingNote: String? = nil, step: ExamStep = .awaitingRouting, claim: Claim? = nil,
        reports: [ReportVersion] = [], returnReason: String? = nil, cancelReason: String? = nil,
        resultId: String? = nil, milestones: Milestones, updatedAt: Timestamp, revision: Int = 0,
        forward: ExamForward? = nil, origin: ExamOrigin? = nil
    ) {
        self.storedRevision = revision
        self.forward = forward
        self.origin = origin
        self.id = id
        self.clinicId = clinicId
        self.submittedBy = submittedBy
        self.patient = patient
        self.itemCode = itemCode
        self.itemName = itemName
        self.itemKind = itemKind
        self.priority = priority
        self.clinicalInfo = clinicalInfo
        self.consent = consent
        self.accessionNumber = accessionNumber
        self.centerId = centerId
        self.routingNote = routingNote
        self.step = step
        self.claim = claim
        self.reports = reports
        self.returnReason = returnReason
        self.cancelReason = cancelReason
        self.resultId = resultId
        self.milestones = milestones
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, patient, priority, consent, step, claim, reports, milestones
        case clinicId = "clinic_id"
        case submittedBy = "submitted_by"
        case itemCode = "item_code"
        case itemName = "item_name"
        case itemKind = "item_kind"
        case clinicalInfo = "clinical_info"
        case accessionNumber = "accession_number"
        case centerId = "center_id"
        case routingNote = "routing_note"
        case returnReason = "return_reason"
        case cancelReason = "cancel_reason"
        case resultId = "result_id"
        case updatedAt = "updated_at"
        case forward, origin
        case storedRevision = "revision"
    }

    /// The latest report version, if any.
    public var currentReport: ReportVersion? { reports.last }

    /// Whether a reader's lease is in force at `now`.
    public func isClaimed(at now: Timestamp) -> Bool {
        step == .claimed && (claim.map { $0.until > now } ?? false)
    }
}

/// Where a forwarded exam went: the peer hub, its center, and the exam's id there once it accepted it.
public struct ExamForward: Sendable, Codable, Equatable {
    public var hubId: String
    public var centerId: String
    public var forwardedAt: Timestamp
    public var remoteExamId: String?
    /// The last revision of the remote exam applied here.
    public var remoteRevision: Int

    public init(
        hubId: String, centerId: String, forwardedAt: Timestamp, remoteExamId: String? = nil, remoteRevision: Int = -1
    ) {
        self.hubId = hubId
        self.centerId = centerId
        self.forwardedAt = forwardedAt
        self.remoteExamId = remoteExamId
        self.remoteRevision = remoteRevision
    }

    enum CodingKeys: String, CodingKey {
        case hubId = "hub_id"
        case centerId = "center_id"
        case forwardedAt = "forwarded_at"
        case remoteExamId = "remote_exam_id"
        case remoteRevision = "remote_revision"
    }
}

/// Where a received exam came from: the submitting hub, the exam's id there, and the clinic.
public struct ExamOrigin: Sendable, Codable, Equatable {
    public var hubId: String
    public var examId: String
    public var clinicId: String
    public var clinicName: String?

    public init(hubId: String, examId: String, clinicId: String, clinicName: String?) {
        self.hubId = hubId
        self.examId = examId
        self.clinicId = clinicId
        self.clinicName = clinicName
    }

    enum CodingKeys: String, CodingKey {
        case hubId = "hub_id"
        case examId = "exam_id"
        case clinicId = "clinic_id"
        case clinicName = "clinic_name"
    }
}
