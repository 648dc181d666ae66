import HubCore

// FHIR R4 (4.0.1) views of the hub's records: pure functions from an `Exam` to a resource, no database and no clock.
//
// One exam is three resources:
// - `ServiceRequest/<exam>`: the order the clinic placed (item, priority, patient, clinic, center).
// - `Task/<exam>`: the remote-reading work on that order; `Task.status` is `ExamStep.taskStatus` and the local step
//   (`awaiting-verification`, ...) is `Task.businessStatus`.
// - `DiagnosticReport/<exam>-<version>`: each version of the report.
//
// The patient is referenced by identifier (the hub keeps no Patient resource): the first identifier of the exam's
// patient, its system mapped by `FHIRSystem.patient`. The report's conclusion is the reading physician's opinion: it
// is `DiagnosticReport.conclusion` and is never marked as recognized (mutual recognition covers images and data, not
// conclusions). Once the verified report is registered as a result, the report carries that result's recognition
// extension (`FHIRRecognition`), which describes the images and data only, never the conclusion.

/// `ServiceRequest`.
struct FHIRServiceRequest: Codable, Sendable {
    var resourceType = "ServiceRequest"
    var id: String
    var meta: FHIRMeta?
    var identifier: [FHIRIdentifier]?
    /// `active` while the order is being worked on, `completed` once the report is final, `revoked` when the clinic
    /// cancelled it, `on-hold` while it is returned to the clinic.
    var status: String
    var intent: String
    var priority: String?
    var code: FHIRCodeableConcept?
    var subject: FHIRReference
    var authoredOn: String?
    var requester: FHIRReference?
    var performer: [FHIRReference]?
    var reasonCode: [FHIRCodeableConcept]?
}

/// `Task`.
struct FHIRTask: Codable, Sendable {
    struct Output: Codable, Sendable {
        var type: FHIRCodeableConcept
        var valueReference: FHIRReference
    }

    var resourceType = "Task"
    var id: String
    var meta: FHIRMeta?
    var identifier: [FHIRIdentifier]?
    var status: String
    var statusReason: FHIRCodeableConcept?
    var businessStatus: FHIRCodeableConcept?
    var intent: String
    var priority: String?
    var code: FHIRCodeableConcept?
    var focus: FHIRReference?
    var `for`: FHIRReference?
    var executionPeriod: FHIRPeriod?
    var authoredOn: String?
    var lastModified: String?
    var requester: FHIRReference?
    var owner: FHIRReference?
    var output: [Output]?
}

/// `DiagnosticReport`.
struct FHIRDiagnosticReport: Codable, Sendable {
    var resourceType = "DiagnosticReport"
    var id: String
    var meta: FHIRMeta?
    /// The findings, as XHTML.
    var text: FHIRNarrative?
    /// The recognition extension (`FHIRRecognition`) of the registry result this report is, or came from.
    var `extension`: [FHIRExtension]?
    var identifier: [FHIRIdentifier]?
    var basedOn: [FHIRReference]?
    var status: String
    var category: [FHIRCodeableConcept]?
    var code: FHIRCodeableConcept
    var subject: FHIRReference?
    var effectiveDateTime: String?
    var issued: String?
    var performer: [FHIRReference]?
    var resultsInterpreter: [FHIRReference]?
    /// The lab values, as `Observation`s.
    var result: [FHIRReference]?
    /// The physician's opinion: never recognized by other institutions.
    var conclusion: String?
}

extension FHIRServiceRequest: FHIRResource {}
extension FHIRTask: FHIRResource {}
extension FHIRDiagnosticReport: FHIRResource {}

extension ExamStep {
    /// `ServiceRequest.status` (http://hl7.org/fhir/request-status) of an exam at this step.
    var serviceRequestStatus: String {
        switch self {
        case .awaitingRouting, .waiting, .claimed, .awaitingVerification, .preliminary: "active"
        case .final: "completed"
        case .returned: "on-hold"
        case .cancelled: "revoked"
        }
    }
}

enum FHIRViews {
    /// Every `ServiceRequest.status` code of R4, the ones the hub never uses included (they match nothing).
    static let requestStatuses: Set<String> = [
        "draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown",
    ]
    /// Every `Task.status` code of R4.
    static let taskStatuses: Set<String> = [
        "draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress", "on-hold",
        "failed", "completed", "entered-in-error",
    ]
    /// Every `DiagnosticReport.status` code of R4.
    static let reportStatuses: Set<String> = [
        "registered", "partial", "preliminary", "final", "amended", "corrected", "appended", "cancelled",
        "entered-in-error", "unknown",
    ]

    // MARK: ServiceRequest

    static func serviceRequest(_ exam: Exam) -> FHIRServiceRequest {
        FHIRServiceRequest(
            id: FHIRID.of(exam.id), meta: FHIRMeta(lastUpdated: exam.updatedAt.description),
            identifier: [accession(exam)], status: exam.step.serviceRequestStatus, intent: "order",
            priority: exam.priority.rawValue, code: item(exam), subject: patient(exam),
            authoredOn: exam.milestones.submittedAt.description, requester: organization(exam.clinicId),
            performer: exam.centerId.map { [healthcareService($0)] },
            reasonCode: exam.clinicalInfo.map { [FHIRCodeableConcept(text: $0)] })
    }

    // MARK: Task

    static func task(_ exam: Exam) -> FHIRTask {
        var statusReason: String?
        switch exam.step {
        case .returned: statusReason = exam.returnReason
        case .cancelled: statusReason = exam.cancelReason
        case .awaitingRouting: statusReason = exam.routingNote
        default: break
        }
        var owner: FHIRReference?
        if exam.step == .claimed, let claim = exam.claim { owner = practitioner(claim.reader) }
        var period: FHIRPeriod?
        if let started = exam.milestones.firstClaimedAt {
            period = FHIRPeriod(
                start: started.description,
                end: exam.step == .final ? exam.milestones.verifiedAt.map(\.description) : nil)
        }
        let outputs = exam.currentReport.map { report in
            [
                FHIRTask.Output(
                    type: FHIRCodeableConcept(text: "report"),
                    valueReference: FHIRReference(
                        reference: "DiagnosticReport/" + FHIRID.report(examId: exam.id, version: report.version)))
            ]
        }
        return FHIRTask(
            id: FHIRID.of(exam.id), meta: FHIRMeta(lastUpdated: exam.updatedAt.description),
            identifier: [accession(exam)], status: exam.step.taskStatus,
            statusReason: statusReason.map { FHIRCodeableConcept(text: $0) },
            businessStatus: FHIRCodeableConcept(
                coding: [FHIRCoding(system: FHIRSystem.taskBusinessStatus, code: exam.step.rawValue)],
                text: exam.step.rawValue),
            intent: "order", priority: exam.priority.rawValue,
            code: FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystem.taskCode, code: "fulfill")]),
            focus: FHIRReference(reference: "ServiceRequest/" + FHIRID.of(exam.id)), for: patient(exam),
            executionPeriod: period, authoredOn: exam.milestones.submittedAt.description,
            lastModified: exam.updatedAt.description, requester: organization(exam.clinicId), owner: owner,
            output: outputs)
    }

    // MARK: DiagnosticReport

    /// One version of the exam's report; the latest when `version` is nil. Nil when there is no such version.
    /// `result` is the exam's registry result, whose recognition extension the report carries (the extension marks
    /// the images and data; the conclusion is never recognized) and whose values are its `Observation`s.
    static func diagnosticReport(
        _ exam: Exam, version: Int? = nil, result: ResultRecord? = nil
    )
        -> FHIRDiagnosticReport?
    {
        guard let report = version.map({ v in exam.reports.first { $0.version == v } }) ?? exam.currentReport else {
            return nil
        }
        var interpreters = [practitioner(report.author)]
        if let verifier = report.verifier, verifier.practitionerId != report.author.practitionerId {
            interpreters.append(practitioner(verifier))
        }
        let updated = report.verifiedAt ?? report.releasedAt ?? report.authoredAt
        return FHIRDiagnosticReport(
            id: FHIRID.report(examId: exam.id, version: report.version),
            meta: FHIRMeta(lastUpdated: updated.description),
            text: narrative(report.findings).map { FHIRNarrative(status: "additional", div: $0) },
            extension: result.map { [FHIRRecognition.extension($0.recognition)] },
            identifier: [accession(exam)], basedOn: [FHIRReference(reference: "ServiceRequest/" + FHIRID.of(exam.id))],
            status: report.status.rawValue, category: [category(exam.itemKind)], code: item(exam),
            subject: patient(exam), issued: (report.verifiedAt ?? report.releasedAt)?.description,
            resultsInterpreter: interpreters,
            result: result.flatMap { result in
                // The Observations are the registry result's current values: only for the report version it holds.
                guard result.reportVersion == report.version else { return nil }
                return observationReferences(result)
            },
            conclusion: report.conclusion)
    }

    /// `DiagnosticReport.category`: the diagnostic service section (HL7 v2 table 0074) of the item's kind.
    static func category(_ kind: ItemKind) -> FHIRCodeableConcept {
        let (code, display) =
            switch kind {
            case .imaging: ("RAD", "Radiology")
            case .ecg: ("EC", "Electrocardiac (e.g., EKG, EEC, Holter)")
            case .pathology: ("SP", "Surgical Pathology")
            case .lab: ("LAB", "Laboratory")
            }
        return FHIRCodeableConcept(coding: [
            FHIRCoding(system: FHIRSystem.diagnosticService, code: code, display: display)
        ])
    }

    /// The findings as an XHTML `div`: escaped text, one paragraph per line; nil when there is no text.
    static func narrative(_ text: String) -> String? {
        let paragraphs = text.split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
        if paragraphs.isEmpty { return nil }
        let body = paragraphs.map { "<p>" + escaped(String($0)) + "</p>" }.joined()
        return #"<div xmlns="http://www.w3.org/1999/xhtml">"# + body + "</div>"
    }

    static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }

    // MARK: Shared parts

    /// The catalog item, as `code`.
    static func item(_ exam: Exam) -> FHIRCodeableConcept {
        FHIRCodeableConcept(
            coding: [FHIRCoding(system: FHIRSystem.catalog, code: exam.itemCode, display: exam.itemName)],
            text: exam.itemName)
    }

    /// The patient by identifier: the first identifier the clinic gave.
    static func patient(_ exam: Exam) -> FHIRReference {
        let first = exam.patient.identifiers.first
        return FHIRReference(
            type: "Patient",
            identifier: first.map { FHIRIdentifier(system: FHIRSystem.patient($0.system), value: $0.value) },
            display: exam.patient.name)
    }

    /// The accession number, typed `ACSN`.
    static func accession(_ exam: Exam) -> FHIRIdentifier {
        FHIRIdentifier(
            type: FHIRCodeableConcept(
                coding: [FHIRCoding(system: FHIRSystem.identifierType, code: "ACSN", display: "Accession ID")]),
            system: FHIRSystem.accession, value: exam.accessionNumber)
    }

    static func organization(_ institutionId: String) -> FHIRReference {
        FHIRReference(reference: "Organization/" + FHIRID.of(institutionId))
    }

    static func healthcareService(_ centerId: String) -> FHIRReference {
        FHIRReference(reference: "HealthcareService/" + FHIRID.of(centerId))
    }

    static func practitioner(_ signer: Signer) -> FHIRReference {
        FHIRReference(reference: "Practitioner/" + FHIRID.of(signer.practitionerId), display: signer.name)
    }
}
