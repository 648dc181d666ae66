import Crypto
import HubCore
import HubStorage

/// One exam on a clinic's modality worklist: what the modality is to do, for whom, and under which identifiers its
/// images come back (the exam's Accession Number, and a Study Instance UID the hub derives from the exam).
public struct ScheduledProcedure: Sendable, Equatable {
    public var exam: Exam
    /// The DICOM modality of the exam's catalog item (CT, MR, DX, US, ECG, SM).
    public var modality: String?
    public var studyInstanceUID: String
    /// When the exam was submitted: the hub books no slots, so the step is scheduled for then.
    public var scheduledAt: Timestamp
}

/// The modality worklist (DIMSE Modality Worklist C-FIND): a clinic's exams that wait for their images. Only the
/// clinic's own modalities see it, and each query is audited.
public struct ModalityWorklist: Sendable {
    let database: any Storage
    let catalog: CatalogInForce
    let clock: @Sendable () -> Timestamp

    /// The most exams one worklist answer holds.
    public static let limit = 1000

    public init(_ env: HubEnvironment) {
        database = env.database
        catalog = CatalogInForce(env)
        clock = env.clock
    }

    /// The caller's clinic's exams that wait for images, oldest first. `target` names the query in the audit log.
    public func procedures(for caller: Caller, target: String) async throws -> [ScheduledProcedure] {
        let principal = try caller.authenticated()
        guard let clinic = principal.institutionId, principal.roles.contains(.clinic) else {
            throw HubError.forbidden("the modality worklist is a clinic's")
        }
        let now = clock()
        let exams = try await database.read { db in
            let index = try catalog.index(db, at: now)
            return try db.awaitingImages(clinicId: clinic, limit: Self.limit).map { exam in
                (exam, index?.item(exam.itemCode))
            }
        }
        let procedures = exams.map { exam, item in
            ScheduledProcedure(
                exam: exam, modality: item?.modality ?? Self.modality(of: item?.category, kind: exam.itemKind),
                studyInstanceUID: Self.studyInstanceUID(examId: exam.id), scheduledAt: exam.milestones.submittedAt)
        }
        try await database.write { db -> Void in
            try db.appendAudit(
                caller.audit("dimse.worklist", "worklist", target, detail: "results=\(procedures.count)"), at: now)
        }
        return procedures
    }

    /// The DICOM modality (PS3.3 C.7.3.1.1.1) of a catalog category, when its item names none.
    static func modality(of category: ItemCategory?, kind: ItemKind) -> String? {
        switch category {
        case .dr: "DX"
        case .ct: "CT"
        case .mr: "MR"
        case .us: "US"
        case .ecg: "ECG"
        case .pathology: "SM"
        case .lab: nil
        case nil: kind == .ecg ? "ECG" : nil
        }
    }

    /// A UID under the 2.25 root (PS3.5 B.2) derived from the exam's id: the same exam gets the same Study Instance
    /// UID on every query, so its images file into one study.
    public static func studyInstanceUID(examId: String) -> String {
        let digest = Array(SHA256.hash(data: Array("alliancehub.exam.study:\(examId)".utf8)))
        var value: UInt128 = 0
        for byte in digest.prefix(16) { value = value << 8 | UInt128(byte) }
        return "2.25.\(value)"
    }
}
