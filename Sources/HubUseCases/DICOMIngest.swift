import DICOM
import Foundation
import HubConfig
import HubCore
import HubStorage
import Metrics

/// DICOM instances coming into the archive, whatever door they come through (a STOW-RS part today): each one
/// checked (a DICOM file with its UIDs, within the inflated-size limit, of the study asked for), its bytes moved into
/// the blob store (small ones kept in the database with their index rows), then indexed in one transaction and filed
/// among the attachments of its exam: the one named, or the clinic's open exam with its accession number, or the
/// exam its study already belongs to. Studies with no exam wait to be attached.
public struct DICOMIngest: Sendable {
    let database: any Storage
    let blobs: BlobStore
    let attachments: Attachments
    let maxInstanceBytes: Int
    let maxInflatedBytes: Int
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        blobs = env.blobs
        attachments = Attachments(env)
        maxInstanceBytes = env.config.maxAttachmentBytes
        maxInflatedBytes = min(env.config.dicomwebMaxInflatedBytes, env.config.maxAttachmentBytes)
        clock = env.clock
    }

    /// Instances up to this size are held and checked in memory before they go to disk; those up to
    /// `InlineBlobs.limit` are kept in the database with their index rows and never become files.
    public static let inMemoryInstance = 4 << 20

    /// The door instances came through, as audit records and metrics name it.
    public enum Door: String, Sendable {
        /// STOW-RS.
        case dicomweb
        /// C-STORE.
        case dimse
    }

    /// Why an instance was not stored: the failure reasons of PS3.4 Annex GG (PS3.18 Table 10.5.3-1).
    public enum Failure: Int, Sendable {
        case processing = 0x0110
        case duplicateInstance = 0x0111
        case cannotUnderstand = 0xC000
        case studyMismatch = 0xA900
        case refused = 0xA700
    }

    /// An instance checked and in the blob store (or in memory, to go into the database), ready to be indexed.
    public struct Checked: Sendable {
        public var instance: IndexedInstance
        public var summary: DICOMSummary
        /// The instance's bytes, for one kept in the database rather than as a file.
        public var inline: [UInt8]?
    }

    /// An instance refused, with why.
    public struct Refused: Error, Sendable {
        public var sopClassUID: String?
        public var sopInstanceUID: String?
        public var reason: Failure
        public var detail: String
        /// A failure that refuses the whole request (a deflate bomb), rather than this instance alone.
        public var refusal: HubError?

        public init(
            sopClassUID: String? = nil, sopInstanceUID: String? = nil, reason: Failure, detail: String,
            refusal: HubError? = nil
        ) {
            self.sopClassUID = sopClassUID
            self.sopInstanceUID = sopInstanceUID
            self.reason = reason
            self.detail = detail
            self.refusal = refusal
        }
    }

    /// Instances are stored by a clinic's staff into its own studies; answers the clinic.
    public func authorize(_ caller: Caller) throws(HubError) -> String {
        let principal = try caller.authenticated()
        try principal.require(.clinic)
        guard let owner = principal.institutionId else {
            throw HubError.forbidden("studies are stored by the staff of an institution")
        }
        return owner
    }

    /// The exam every instance of a request goes to, named by the caller: one of its clinic's open exams.
    public func exam(_ examId: String, owner: String) async throws -> Exam {
        guard let exam = try await database.shortRead({ try $0.exam(id: examId) }) else {
            throw HubError.validation("exam_id", "exam '\(examId)' does not exist")
        }
        guard exam.clinicId == owner else {
            throw HubError.forbidden("studies are stored into the exams of the caller's own clinic")
        }
        guard exam.step != .final && exam.step != .cancelled else {
            throw HubError.invalidTransition("instances cannot be added to an exam that is \(exam.step.rawValue)")
        }
        return exam
    }

    /// Where one instance's bytes go while they arrive: memory first, a temporary file past `inMemoryInstance`.
    public func writer() throws -> BlobWriter {
        try blobs.writer(limit: maxInstanceBytes, keepInMemory: Self.inMemoryInstance)
    }

    /// Checks one received instance and moves its bytes into the blob store, or, when it is small and `mayInline`,
    /// keeps them to be written into the database with its index rows. `study` is the study the request is for, if
    /// it names one.
    public func check(
        _ writer: BlobWriter, study pathStudy: String?, mayInline: Bool
    ) async -> Result<
        Checked, Refused
    > {
        do {
            // A small instance is checked from memory; a large one is flushed first and its header read back.
            let inMemory = writer.isWhollyInMemory
            let sha256 = inMemory ? nil : try await writer.finish()
            let file: DICOMFile
            do {
                // A deflated dataset is inflated as a stream to measure it, never held whole: a few megabytes may
                // inflate to gigabytes.
                let maxInflated = maxInflatedBytes
                do {
                    if inMemory {
                        try DICOMFile.checkInflatedSize(writer.head, limit: maxInflated)
                    } else {
                        try DICOMFile.checkInflatedSize(fileAt: writer.temporaryPath, limit: maxInflated)
                    }
                } catch  where error.code == DICOMError.inflatedTooLarge {
                    writer.abort()
                    return .failure(
                        Refused(
                            reason: .processing, detail: error.detail,
                            refusal: HubError(
                                code: "payload_too_large", kind: .tooLarge, title: "Request body too large",
                                detail:
                                    "a deflated instance inflates to more than \(maxInflated) bytes "
                                    + "(dicomweb.max_inflated_bytes)")))
                }
                file =
                    inMemory
                    ? try DICOMFile.parseHeader(writer.head) : try DICOMFile.parseHeader(fileAt: writer.temporaryPath)
            } catch {
                writer.abort()
                return .failure(Refused(reason: .cannotUnderstand, detail: "\(error.code): \(error.detail)"))
            }
            let s = file.summary
            guard let sop = s.sopInstanceUID, let study = s.studyInstanceUID, let series = s.seriesInstanceUID else {
                writer.abort()
                return .failure(
                    Refused(
                        sopClassUID: s.sopClassUID, sopInstanceUID: s.sopInstanceUID, reason: .cannotUnderstand,
                        detail: "the instance lacks a SOP Instance, Study Instance or Series Instance UID"))
            }
            if let pathStudy, pathStudy != study {
                writer.abort()
                return .failure(
                    Refused(
                        sopClassUID: s.sopClassUID, sopInstanceUID: sop, reason: .studyMismatch,
                        detail: "the instance belongs to study \(study), not \(pathStudy)"))
            }
            // The index documents are made while the file is flushed into place.
            let dataset = file.dataset
            async let documents = (
                metadata: DICOMJSON.encode(dataset), study: DICOMJSON.encode(dataset, only: DICOMQuery.studyLevel),
                series: DICOMJSON.encode(dataset, only: DICOMQuery.seriesLevel),
                instance: DICOMJSON.encode(dataset, only: DICOMQuery.instanceLevel)
            )
            let digest: String
            var inline: [UInt8]?
            if let sha256 {
                try await writer.commit(sha256: sha256)
                digest = sha256
            } else if inMemory && mayInline && writer.size <= InlineBlobs.limit {
                digest = writer.finishInMemory()
                inline = writer.head
            } else {
                digest = try await writer.finishAndCommit()
            }
            let encoded = await documents
            return .success(
                Checked(
                    instance: IndexedInstance(
                        sopInstanceUID: sop, seriesUID: series, studyUID: study, sopClassUID: s.sopClassUID,
                        instanceNumber: s.instanceNumber, seriesNumber: s.seriesNumber, modality: s.modality,
                        patientID: s.patientID, patientName: s.patientName, studyDate: s.studyDate,
                        accessionNumber: s.accessionNumber, sha256: digest, size: writer.size,
                        transferSyntax: s.transferSyntaxUID,
                        studyAttributes: encoded.study, seriesAttributes: encoded.series,
                        instanceAttributes: encoded.instance, metadata: encoded.metadata),
                    summary: s, inline: inline))
        } catch {
            writer.abort()
            return .failure(Refused(reason: .processing, detail: "\(error)"))
        }
    }

    /// Indexes the checked instances in one transaction with its audit record, filing each among the attachments of
    /// its exam (`exam`, the one the request named, or found by accession number or study); answers those indexed
    /// and those refused (a UID already used by another instance, a study of another clinic).
    public func index(
        _ parts: [Checked], owner: String, exam explicitExam: Exam?, by caller: Caller, at now: Timestamp,
        door: Door = .dicomweb
    ) async throws -> (indexed: [Checked], refused: [Refused]) {
        guard !parts.isEmpty else { return ([], []) }
        let principal = try caller.authenticated()
        let attachments = attachments
        let indexed = try await database.write { db -> ([Checked], [Refused]) in
            var referenced: [Checked] = []
            var failed: [Refused] = []
            var exams: [String: Exam?] = [:]
            // The exam as it is now: it may have been forwarded, finished or cancelled during the upload.
            let current = try explicitExam.flatMap { try db.exam(id: $0.id) }
            if let current, current.step == .final || current.step == .cancelled {
                throw HubError.invalidTransition(
                    "instances cannot be added to an exam that is \(current.step.rawValue)")
            }
            for part in parts {
                var exam = current
                if exam == nil, let accession = part.summary.accessionNumber, !accession.isEmpty {
                    if exams[accession] == nil {
                        let found = try db.exam(accessionNumber: accession)
                        exams[accession] = found.flatMap {
                            $0.clinicId == owner && $0.step != .final && $0.step != .cancelled ? $0 : nil
                        }
                    }
                    exam = exams[accession] ?? nil
                }
                if exam == nil, let study = try db.study(uid: part.instance.studyUID),
                    let examId = study.examId
                {
                    exam = try db.exam(id: examId).flatMap {
                        $0.step != .final && $0.step != .cancelled ? $0 : nil
                    }
                }
                switch try db.index(part.instance, owner: owner, examId: exam?.id, now: now) {
                case .stored, .alreadyStored:
                    if let bytes = part.inline {
                        try db.insertInlineBlob(sha256: part.instance.sha256, bytes: bytes)
                    }
                    referenced.append(part)
                    if let exam {
                        try Self.file(
                            sha256: part.instance.sha256, size: part.instance.size, part.summary, in: exam,
                            by: principal.actor, caller: caller, attachments, db, now: now)
                    }
                case .conflict(let reason):
                    failed.append(
                        Refused(
                            sopClassUID: part.instance.sopClassUID, sopInstanceUID: part.instance.sopInstanceUID,
                            reason: reason.hasPrefix("another instance") ? .duplicateInstance : .refused,
                            detail: reason))
                }
            }
            let studies = Set(referenced.map(\.instance.studyUID)).sorted()
            try db.appendAudit(
                caller.audit(
                    "\(door.rawValue).store", "study", studies.first ?? "-",
                    detail:
                        "stored=\(referenced.count) failed=\(failed.count) studies=\(studies.joined(separator: ","))"),
                at: now)
            return (referenced, failed)
        }
        Counter(label: "hub.\(door.rawValue).instances_stored").increment(by: indexed.0.count)
        return indexed
    }

    /// Files an instance among its exam's attachments (once); one of a forwarded exam follows it to the reading hub.
    static func file(
        sha256: String, size: Int, _ summary: DICOMSummary, in exam: Exam, by actor: String, caller: Caller,
        _ attachments: Attachments, _ db: any StoreWriter, now: Timestamp
    ) throws {
        let attachment = Attachment(
            examId: exam.id, sha256: sha256, mediaType: "application/dicom", kind: "dicom", size: size,
            uploadedBy: actor, uploadedAt: now, dicom: Attachments.tags(summary),
            patientMismatch: Attachments.patientMismatch(summary, exam: exam))
        _ = try attachments.record(
            attachment,
            audit: { action, detail, key in caller.audit(action, "exam", exam.id, patientKey: key, detail: detail) },
            db, now: now)
    }

    /// What a clinic sends to attach a study.
    public struct AttachInput: Decodable, Sendable {
        public var studyInstanceUID: String?

        enum CodingKeys: String, CodingKey {
            case studyInstanceUID = "study_instance_uid"
        }
    }

    /// A clinic attaches a study it stored without an exam (no matching accession number) to one of its open exams;
    /// answers the exam's attachments.
    public func attachStudy(_ input: AttachInput, to examId: String, by caller: Caller) async throws -> [Attachment] {
        let principal = try caller.authenticated()
        try principal.require(.clinic)
        var v = Validator()
        let studyUID = v.text(input.studyInstanceUID, "study_instance_uid", maxLength: 64)
        try v.check()
        guard let studyUID else { throw HubError.validation("study_instance_uid", "is required") }
        let now = clock()
        let (attachments, blobs) = (attachments, blobs)
        return try await database.write { db -> [Attachment] in
            guard let exam = try db.exam(id: examId) else { throw HubError.notFound("exam", examId) }
            guard exam.clinicId == principal.institutionId else {
                throw HubError.forbidden("studies are attached to the exams of the caller's own clinic")
            }
            guard exam.step != .final && exam.step != .cancelled else {
                throw HubError.invalidTransition("studies cannot be attached to an exam that is \(exam.step.rawValue)")
            }
            guard let study = try db.study(uid: studyUID), study.owner == principal.institutionId else {
                throw HubError.validation("study_instance_uid", "no study '\(studyUID)' stored by this clinic")
            }
            if let other = study.examId, other != exam.id {
                throw HubError.conflict("the study is attached to exam \(other)", field: "study_instance_uid")
            }
            try db.attach(studyUID: studyUID, examId: exam.id)
            let access = DICOMAccess(owner: principal.institutionId, readingInstitution: nil)
            for file in try db.instanceFiles(studyUID: studyUID, access: access) {
                let summary =
                    switch try db.blobContent(sha256: file.sha256, files: blobs) {
                    case .bytes(let bytes): try DICOMFile.parseHeader(bytes).summary
                    case .file(let path): try DICOMFile.parseHeader(fileAt: path).summary
                    }
                try Self.file(
                    sha256: file.sha256, size: file.size, summary, in: exam, by: principal.actor, caller: caller,
                    attachments, db, now: now)
            }
            return try db.attachments(examId: exam.id)
        }
    }
}
