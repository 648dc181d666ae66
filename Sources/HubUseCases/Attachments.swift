import DICOM
import Foundation
import HubConfig
import HubCore
import HubStorage

/// Attachments of an exam (`/v1/exams/{id}/attachments`): files streamed to the content-addressed blob store,
/// checked against their kind and the exam, filed once, and sent on with a forwarded exam.
public struct Attachments: Sendable {
    /// Media types accepted, and the kind each is filed as.
    static let kinds: [String: String] = [
        "application/dicom": "dicom", "application/hl7-aecg+xml": "ecg-aecg", "application/xml": "ecg-aecg",
        "text/xml": "ecg-aecg", "application/pdf": "pdf", "image/jpeg": "image", "image/png": "image",
    ]

    let database: any Storage
    let blobs: BlobStore
    let patientKeys: PatientKeys
    let forwarding: ExamForwarding
    let access = ExamAccess()
    let clock: @Sendable () -> Timestamp
    let maxBytes: Int

    public init(_ env: HubEnvironment) {
        database = env.database
        blobs = env.blobs
        patientKeys = env.patientKeys
        forwarding = ExamForwarding(env)
        clock = env.clock
        maxBytes = env.config.maxAttachmentBytes
    }

    /// A file the clinic or the center attaches to an exam, as it arrives (`declaredLength` is the size the
    /// request announces, if it does). Returns the record and whether it is new: the same bytes attached again
    /// answer with the record first stored.
    public func upload<Chunk: Collection<UInt8>>(
        _ examId: String, mediaType: String, declaredLength: Int?, body: some AsyncSequence<Chunk, any Error>,
        by caller: Caller
    ) async throws -> (Attachment, created: Bool) {
        let principal = try caller.authenticated()
        guard let kind = Self.kinds[mediaType] else {
            throw HubError.unsupportedMediaType(
                "attachments are \(Self.kinds.keys.sorted().joined(separator: ", ")); got '\(mediaType)'")
        }
        if let declaredLength, declaredLength > maxBytes { throw HubError.payloadTooLarge(limit: maxBytes) }
        let exam = try await database.read { db in try access.exam(examId, for: principal, db) }
        return try await ingest(body, mediaType: mediaType, kind: kind, exam: exam, uploadedBy: principal.actor) {
            action, detail, key in
            caller.audit(action, "exam", examId, patientKey: key, detail: detail)
        }
    }

    /// Streams a file into the blob store, checks it against its kind and the exam, and records it, with its audit
    /// records (`audit` builds them: action, detail, patient key). When `expectedSHA256` is given (a peer's
    /// signed promise), bytes that do not match it are refused. A new attachment of a forwarded exam follows the
    /// exam to the reading hub. Returns the record and whether it is new.
    func ingest<Chunk: Collection<UInt8>>(
        _ body: some AsyncSequence<Chunk, any Error>, mediaType: String, kind: String, exam: Exam,
        uploadedBy: String, expectedSHA256: String? = nil,
        audit: @escaping @Sendable (String, String?, String?) -> AuditEvent
    ) async throws -> (Attachment, created: Bool) {
        guard exam.step != .cancelled && exam.step != .final else {
            throw HubError.invalidTransition("attachments cannot be added to an exam that is \(exam.step.rawValue)")
        }
        // Streamed chunk by chunk to a temporary file: memory stays flat whatever the size.
        let writer = try blobs.writer(limit: maxBytes)
        let sha256: String
        do {
            for try await chunk in body {
                try chunk.withContiguousStorageIfAvailable { try writer.write(UnsafeRawBufferPointer($0)) }
                    ?? Array(chunk).withUnsafeBytes { try writer.write($0) }
            }
            if writer.size == 0 { throw HubError.validation("body", "the attachment is empty") }
            sha256 = try await writer.finish()
            if let expectedSHA256, expectedSHA256 != sha256 {
                throw HubError.validation(
                    "body", "the bytes' SHA-256 is \(sha256), not the \(expectedSHA256) signed for")
            }
        } catch {
            writer.abort()
            throw error
        }
        let checked: (dicom: [String: String]?, mismatch: String?)
        do {
            checked = try Self.check(path: writer.temporaryPath, kind: kind, exam: exam)
            try await writer.commit(sha256: sha256)
        } catch {
            writer.abort()
            throw error
        }
        let now = clock()
        let id = exam.id
        let attachment = Attachment(
            examId: id, sha256: sha256, mediaType: mediaType, kind: kind, size: writer.size,
            uploadedBy: uploadedBy, uploadedAt: now, dicom: checked.dicom, patientMismatch: checked.mismatch)
        return try await database.write { db -> (Attachment, created: Bool) in
            guard try record(attachment, audit: audit, db, now: now) else {
                // The same bytes were attached before: answer with the record as it was first stored.
                return (try db.attachment(examId: id, sha256: sha256) ?? attachment, false)
            }
            return (attachment, true)
        }
    }

    /// Files an attachment of an exam once, inside the caller's transaction, with its audit records (`audit`
    /// builds them: action, detail, patient key); a new attachment of a forwarded exam follows the exam to the
    /// reading hub. False when it was filed before.
    public func record(
        _ attachment: Attachment, audit: (String, String?, String?) -> AuditEvent, _ db: any StoreWriter, now: Timestamp
    ) throws -> Bool {
        guard try db.attach(attachment) else { return false }
        let exam = try db.exam(id: attachment.examId)
        let key = exam.flatMap { patientKeys.keys(for: $0.patient).first }
        try db.appendAudit(
            audit("attachment.add", "sha256=\(attachment.sha256) kind=\(attachment.kind)", key), at: now)
        if attachment.patientMismatch != nil {
            // The file's PatientID is kept with the attachment; the log carries ids only.
            try db.appendAudit(audit("attachment.patient_mismatch", "sha256=\(attachment.sha256)", key), at: now)
        }
        if let forward = exam?.forward {
            try forwarding.forwardAttachment(db, attachment, to: forward.hubId, now: now)
        }
        return true
    }

    /// The attachments of an exam, for its clinic and its center.
    public func list(_ examId: String, for caller: Caller) async throws -> [Attachment] {
        let principal = try caller.authenticated()
        return try await database.read { db in
            _ = try access.exam(examId, for: principal, db)
            return try db.attachments(examId: examId)
        }
    }

    /// One attachment and where its bytes are, for the exam's clinic and center; the reading is audited.
    public func download(
        _ examId: String, sha256: String, for caller: Caller
    ) async throws -> (Attachment, BlobContent) {
        let principal = try caller.authenticated()
        let now = clock()
        let attachment = try await database.write { db -> Attachment in
            let exam = try access.exam(examId, for: principal, db)
            guard let attachment = try db.attachment(examId: examId, sha256: sha256) else {
                throw HubError.notFound("attachment", sha256)
            }
            try db.appendAudit(
                caller.audit(
                    "attachment.read", "exam", examId, patientKey: patientKeys.keys(for: exam.patient).first,
                    detail: "sha256=\(sha256)"),
                at: now)
            return attachment
        }
        return (attachment, try await database.blobContent(sha256: attachment.sha256, files: blobs))
    }

    /// Checks that a file is what its media type claims, and extracts what the hub needs from it.
    static func check(path: String, kind: String, exam: Exam) throws -> ([String: String]?, String?) {
        switch kind {
        case "dicom":
            let file: DICOMFile
            do {
                file = try DICOMFile.parseHeader(fileAt: path)
            } catch {
                throw HubError(
                    code: "invalid_dicom", kind: .invalid, title: "Not a valid DICOM file",
                    detail: "\(error.code): \(error.detail)", fields: [.init(field: "body", detail: error.detail)])
            }
            return (Self.tags(file.summary), Self.patientMismatch(file.summary, exam: exam))
        case "ecg-aecg":
            let head = try prefix(path, 65_536)
            let text = String(decoding: head, as: UTF8.self)
            guard text.contains("<AnnotatedECG") || text.contains(":AnnotatedECG") else {
                throw HubError(
                    code: "invalid_ecg", kind: .invalid, title: "Not an HL7 aECG document",
                    detail: "the XML's root element is not AnnotatedECG (HL7 v3 annotated ECG)",
                    fields: [.init(field: "body", detail: "expected an HL7 aECG document")])
            }
            return (nil, nil)
        case "pdf":
            guard try prefix(path, 5) == Data("%PDF-".utf8) else { throw magic("a PDF", "%PDF-") }
            return (nil, nil)
        default:
            let head = try prefix(path, 8)
            let jpeg = head.starts(with: [0xFF, 0xD8, 0xFF])
            let png = head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            guard jpeg || png else { throw magic("a JPEG or PNG image", "its signature bytes") }
            return (nil, nil)
        }
    }

    /// The DICOM attributes an attachment record keeps.
    public static func tags(_ s: DICOMSummary) -> [String: String] {
        var tags: [String: String] = ["transfer_syntax_uid": s.transferSyntaxUID]
        tags["sop_class_uid"] = s.sopClassUID
        tags["sop_instance_uid"] = s.sopInstanceUID
        tags["study_instance_uid"] = s.studyInstanceUID
        tags["series_instance_uid"] = s.seriesInstanceUID
        tags["patient_id"] = s.patientID
        tags["patient_name"] = s.patientName
        tags["modality"] = s.modality
        tags["study_date"] = s.studyDate
        tags["accession_number"] = s.accessionNumber
        tags["number_of_frames"] = s.numberOfFrames.map(String.init)
        tags["specific_character_set"] = s.specificCharacterSet?.joined(separator: "\\")
        if let ecg = s.ecg {
            tags["ecg_channels"] = ecg.channelCount.map(String.init)
            tags["ecg_sampling_frequency"] = ecg.samplingFrequency.map { String($0) }
        }
        return tags
    }

    /// Why the file's patient is not the exam's, or nil when it is (or the file names none).
    public static func patientMismatch(_ s: DICOMSummary, exam: Exam) -> String? {
        guard let patientID = s.patientID.map({ String($0.trimmingASCIIWhitespace()) }), !patientID.isEmpty,
            !exam.patient.identifiers.contains(where: { PatientIdentifier(system: $0.system, value: patientID) == $0 })
        else { return nil }
        return "the file's PatientID '\(patientID)' matches none of the exam's patient identifiers"
    }

    static func prefix(_ path: String, _ count: Int) throws -> Data {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        return try handle.read(upToCount: count) ?? Data()
    }

    static func magic(_ what: String, _ signature: String) -> HubError {
        HubError(
            code: "invalid_attachment", kind: .invalid, title: "The file is not what its media type says",
            detail: "the body is not \(what): it does not start with \(signature)",
            fields: [.init(field: "body", detail: "does not match its Content-Type")])
    }
}
