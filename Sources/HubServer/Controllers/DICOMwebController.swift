import DICOM
import Foundation
import GRDB
import HTTPTypes
import HubConfig
import HubCore
import HubStore
import HubUseCases
import Hummingbird
import Metrics
import NIOCore

/// `/dicomweb`: the DICOMweb door (PS3.18) for modalities, PACS and viewers. STOW-RS streams each part of a
/// `multipart/related` body to the blob store (small ones go into the database with their index rows); QIDO-RS
/// answers from the SQLite index; WADO-RS returns the stored bytes unchanged. Clinics store into and read their own
/// studies; center staff read the studies of exams routed to them.
struct DICOMwebController {
    let env: HubEnvironment
    let archive: DICOMArchive
    let config: HubConfiguration

    init(env: HubEnvironment) {
        self.env = env
        archive = DICOMArchive(env)
        config = env.config
    }

    func register(_ routes: Routes) {
        routes.add(.post, "/dicomweb/studies", store)
        routes.add(.post, "/dicomweb/studies/{study}", store)
        routes.add(.get, "/dicomweb/studies", searchStudies)
        routes.add(.get, "/dicomweb/series", searchSeries)
        routes.add(.get, "/dicomweb/instances", searchInstances)
        routes.add(.get, "/dicomweb/studies/{study}/series", searchSeries)
        routes.add(.get, "/dicomweb/studies/{study}/instances", searchInstances)
        routes.add(.get, "/dicomweb/studies/{study}/series/{series}/instances", searchInstances)
        routes.add(.get, "/dicomweb/studies/{study}", retrieve)
        routes.add(.get, "/dicomweb/studies/{study}/series/{series}", retrieve)
        routes.add(.get, "/dicomweb/studies/{study}/series/{series}/instances/{instance}", retrieve)
        routes.add(.get, "/dicomweb/studies/{study}/metadata", metadata)
        routes.add(.get, "/dicomweb/studies/{study}/series/{series}/metadata", metadata)
        routes.add(.get, "/dicomweb/studies/{study}/series/{series}/instances/{instance}/metadata", metadata)
        routes.add(.post, "/v1/exams/{id}/studies", attachStudy)
    }

    static let dicomJSON = "application/dicom+json"
    /// Parts up to this size are held and checked in memory before they go to disk; those up to
    /// `InlineBlobs.limit` are kept in the database with their index rows and never become files.
    static let inMemoryPart = 4 << 20

    // MARK: STOW-RS

    /// Failure reasons of the FailedSOPSequence (PS3.4 Annex GG, PS3.18 Table 10.5.3-1).
    enum Failure: Int {
        case processing = 0x0110
        case duplicateInstance = 0x0111
        case cannotUnderstand = 0xC000
        case studyMismatch = 0xA900
        case refused = 0xA700
    }

    struct StoredPart: Sendable {
        var instance: IndexedInstance
        var summary: DICOMSummary
        /// The instance's bytes, for one kept in the database rather than as a file.
        var inline: [UInt8]?
    }

    struct FailedPart: Error, Sendable {
        var sopClassUID: String?
        var sopInstanceUID: String?
        var reason: Failure
        var detail: String
        /// A failure that refuses the whole request (a deflate bomb), rather than this part alone.
        var refusal: HubError?
    }

    @Sendable func store(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        try caller.require(.clinic)
        guard let owner = caller.institutionId else {
            throw HubError.forbidden("studies are stored by the staff of an institution")
        }
        let pathStudy = context.parameters.get("study")
        let (type, parameters) = MultipartReader.parameters(of: request.headers[.contentType] ?? "")
        guard type == "multipart/related",
            (parameters["type"] ?? "application/dicom").lowercased() == "application/dicom",
            let boundary = parameters["boundary"], !boundary.isEmpty
        else {
            throw HubError.unsupportedMediaType(
                "STOW-RS takes multipart/related; type=\"application/dicom\" with a boundary")
        }
        let now = env.clock()
        let explicitExam = try await requestedExam(request, owner: owner)
        let limit = env.config.maxAttachmentBytes
        // Admitted with room for one part in memory, or 503 when the uploads in progress fill the hub's budget.
        let lease = try env.uploadMemory.admit(Self.inMemoryPart)
        defer { lease.end() }
        let maxParts = env.config.dicomwebMaxParts
        var parts = 0
        var reader = MultipartReader(boundary: boundary)
        var writer: BlobWriter?
        var partType = "application/dicom"
        var stored: [StoredPart] = []
        var failed: [FailedPart] = []
        var inlineBytes = 0
        defer { writer?.abort() }
        do {
            for try await chunk in request.body {
                for event in try chunk.withUnsafeReadableBytes({ try reader.feed($0) }) {
                    switch event {
                    case .headers(let headers):
                        parts += 1
                        guard parts <= maxParts else {
                            throw HubError(
                                code: "payload_too_large", kind: .tooLarge, title: "Request body too large",
                                detail: "a STOW-RS request holds at most \(maxParts) parts (dicomweb.max_parts)")
                        }
                        partType =
                            headers["content-type"].map { MultipartReader.parameters(of: $0).type }
                            ?? "application/dicom"
                        writer = try env.blobs.writer(limit: limit, keepInMemory: Self.inMemoryPart)
                    case .content(let bytes):
                        try bytes.withUnsafeBytes { try writer?.write($0) }
                    case .end:
                        guard let finished = writer else { continue }
                        writer = nil
                        // An instance kept in memory for the database takes its bytes from the shared budget;
                        // without room there it becomes a file like a large one.
                        let mayInline =
                            finished.isWhollyInMemory && finished.size <= InlineBlobs.limit
                            && inlineBytes + finished.size <= InlineBlobs.requestBudget && lease.extend(finished.size)
                        let outcome = await ingestPart(
                            finished, type: partType, pathStudy: pathStudy, mayInline: mayInline)
                        switch outcome {
                        case .success(let part):
                            stored.append(part)
                            inlineBytes += part.inline?.count ?? 0
                            if mayInline && part.inline == nil { lease.shrink(finished.size) }
                        case .failure(let failure):
                            if mayInline { lease.shrink(finished.size) }
                            if let refusal = failure.refusal { throw refusal }
                            failed.append(failure)
                        }
                    }
                }
            }
        } catch let error as MultipartReader.Malformed {
            throw HubError.validation("body", error.description)
        }
        if !reader.isComplete {
            if reader.inPart { failed.append(FailedPart(reason: .processing, detail: "the body ended inside a part")) }
            if stored.isEmpty && failed.isEmpty {
                throw HubError.validation("body", "the multipart body has no complete part")
            }
        }
        let (referenced, refused) = try await index(
            stored, owner: owner, explicitExam: explicitExam, caller: caller, context: context, now: now)
        failed += refused
        Counter(label: "hub.dicomweb.instances_stored").increment(by: referenced.count)
        return try storeResponse(referenced: referenced, failed: failed, request: request)
    }

    /// `?exam_id=`: every instance goes to this exam of the caller's clinic.
    func requestedExam(_ request: Request, owner: String) async throws -> Exam? {
        guard let examId = request.query("exam_id") else { return nil }
        guard let exam = try await env.database.shortRead({ try ExamStore.exam($0, id: examId) }) else {
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

    /// Checks one received part and moves its bytes into the blob store, or, when it is small and `mayInline`, keeps
    /// them to be written into the database with its index rows.
    func ingestPart(
        _ writer: BlobWriter, type: String, pathStudy: String?, mayInline: Bool
    ) async -> Result<StoredPart, FailedPart> {
        guard type == "application/dicom" else {
            writer.abort()
            return .failure(FailedPart(reason: .cannotUnderstand, detail: "a part of type \(type)"))
        }
        do {
            // A small part is checked from memory; a large one is flushed first and its header read back from disk.
            let inMemory = writer.isWhollyInMemory
            let sha256 = inMemory ? nil : try await writer.finish()
            let file: DICOMFile
            do {
                // A deflated dataset is inflated as a stream to measure it, never held whole: a few megabytes may
                // inflate to gigabytes.
                let maxInflated = min(env.config.dicomwebMaxInflatedBytes, env.config.maxAttachmentBytes)
                do {
                    if inMemory {
                        try DICOMFile.checkInflatedSize(writer.head, limit: maxInflated)
                    } else {
                        try DICOMFile.checkInflatedSize(fileAt: writer.temporaryPath, limit: maxInflated)
                    }
                } catch  where error.code == DICOMError.inflatedTooLarge {
                    writer.abort()
                    return .failure(
                        FailedPart(
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
                return .failure(FailedPart(reason: .cannotUnderstand, detail: "\(error.code): \(error.detail)"))
            }
            let s = file.summary
            guard let sop = s.sopInstanceUID, let study = s.studyInstanceUID, let series = s.seriesInstanceUID else {
                writer.abort()
                return .failure(
                    FailedPart(
                        sopClassUID: s.sopClassUID, sopInstanceUID: s.sopInstanceUID, reason: .cannotUnderstand,
                        detail: "the instance lacks a SOP Instance, Study Instance or Series Instance UID"))
            }
            if let pathStudy, pathStudy != study {
                writer.abort()
                return .failure(
                    FailedPart(
                        sopClassUID: s.sopClassUID, sopInstanceUID: sop, reason: .studyMismatch,
                        detail: "the instance belongs to study \(study), not \(pathStudy)"))
            }
            // The index documents are made while the file is flushed into place, off the request's path.
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
                StoredPart(
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
            return .failure(FailedPart(reason: .processing, detail: "\(error)"))
        }
    }

    /// Indexes the stored parts in one transaction, attaching them to their exam (named by `exam_id`, or by the
    /// accession number of a clinic's own open exam); studies with no exam wait to be attached.
    func index(
        _ parts: [StoredPart], owner: String, explicitExam: Exam?, caller: Principal, context: HubRequestContext,
        now: Timestamp
    ) async throws -> ([StoredPart], [FailedPart]) {
        guard !parts.isEmpty else { return ([], []) }
        return try await env.database.write { db in
            var referenced: [StoredPart] = []
            var failed: [FailedPart] = []
            var exams: [String: Exam?] = [:]
            // The exam as it is now: it may have been forwarded, finished or cancelled during the upload.
            let current = try explicitExam.flatMap { try ExamStore.exam(db, id: $0.id) }
            if let current, current.step == .final || current.step == .cancelled {
                throw HubError.invalidTransition(
                    "instances cannot be added to an exam that is \(current.step.rawValue)")
            }
            for part in parts {
                var exam = current
                if exam == nil, let accession = part.summary.accessionNumber, !accession.isEmpty {
                    if exams[accession] == nil {
                        let found = try ExamStore.exam(db, accessionNumber: accession)
                        exams[accession] = found.flatMap {
                            $0.clinicId == owner && $0.step != .final && $0.step != .cancelled ? $0 : nil
                        }
                    }
                    exam = exams[accession] ?? nil
                }
                if exam == nil, let study = try DICOMStore.study(db, uid: part.instance.studyUID),
                    let examId = study.examId
                {
                    exam = try ExamStore.exam(db, id: examId).flatMap {
                        $0.step != .final && $0.step != .cancelled ? $0 : nil
                    }
                }
                switch try DICOMStore.store(db, part.instance, owner: owner, examId: exam?.id, now: now) {
                case .stored, .alreadyStored:
                    if let bytes = part.inline {
                        try InlineBlobs.insert(db, sha256: part.instance.sha256, bytes: bytes)
                    }
                    referenced.append(part)
                    if let exam {
                        try attach(
                            sha256: part.instance.sha256, size: part.instance.size, part.summary, to: exam,
                            by: caller.actor, db, context: context, now: now)
                    }
                case .conflict(let reason):
                    failed.append(
                        FailedPart(
                            sopClassUID: part.instance.sopClassUID, sopInstanceUID: part.instance.sopInstanceUID,
                            reason: reason.hasPrefix("another instance") ? .duplicateInstance : .refused,
                            detail: reason))
                }
            }
            let studies = Set(referenced.map(\.instance.studyUID)).sorted()
            try AuditLog.append(
                db,
                context.audit(
                    "dicomweb.store", "study", studies.first ?? "-",
                    detail:
                        "stored=\(referenced.count) failed=\(failed.count) studies=\(studies.joined(separator: ","))"),
                at: now)
            return (referenced, failed)
        }
    }

    /// Files an instance among its exam's attachments (once), and sends it on when the exam was forwarded.
    func attach(
        sha256: String, size: Int, _ summary: DICOMSummary, to exam: Exam, by actor: String, _ db: Database,
        context: HubRequestContext, now: Timestamp
    ) throws {
        let attachment = Attachment(
            examId: exam.id, sha256: sha256, mediaType: "application/dicom", kind: "dicom", size: size,
            uploadedBy: actor, uploadedAt: now, dicom: AttachmentController.tags(summary),
            patientMismatch: AttachmentController.patientMismatch(summary, exam: exam))
        _ = try env.record(
            attachment,
            audit: { action, detail, key in
                context.audit(action, "exam", exam.id, patientKey: key, detail: detail)
            }, db, now: now)
    }

    /// The STOW-RS answer: 200 all stored, 202 some failed, 409 none stored.
    func storeResponse(referenced: [StoredPart], failed: [FailedPart], request: Request) throws -> Response {
        let base = Self.baseURL(request, env.config)
        let attribute = Self.attribute
        var members: [String] = []
        let studies = Set(referenced.map(\.instance.studyUID))
        if studies.count == 1, let study = studies.first {
            members.append(attribute(.retrieveURL, "UR", [Self.jsonString("\(base)/studies/\(study)")]))
        }
        if !failed.isEmpty {
            let items = failed.map { failure -> String in
                var item: [String] = []
                if let sopClass = failure.sopClassUID {
                    item.append(attribute(.referencedSOPClassUID, "UI", [Self.jsonString(sopClass)]))
                }
                if let sop = failure.sopInstanceUID {
                    item.append(attribute(.referencedSOPInstanceUID, "UI", [Self.jsonString(sop)]))
                }
                item.append(attribute(.failureReason, "US", [String(failure.reason.rawValue)]))
                return "{" + item.joined(separator: ",") + "}"
            }
            members.append(attribute(.failedSOPSequence, "SQ", items))
        }
        if !referenced.isEmpty {
            let items = referenced.map { part -> String in
                let i = part.instance
                var item: [String] = []
                if let sopClass = i.sopClassUID {
                    item.append(attribute(.referencedSOPClassUID, "UI", [Self.jsonString(sopClass)]))
                }
                item.append(attribute(.referencedSOPInstanceUID, "UI", [Self.jsonString(i.sopInstanceUID)]))
                let url = "\(base)/studies/\(i.studyUID)/series/\(i.seriesUID)/instances/\(i.sopInstanceUID)"
                item.append(attribute(.retrieveURL, "UR", [Self.jsonString(url)]))
                return "{" + item.joined(separator: ",") + "}"
            }
            members.append(attribute(.referencedSOPSequence, "SQ", items))
        }
        let status: HTTPResponse.Status = failed.isEmpty ? .ok : referenced.isEmpty ? .conflict : .accepted
        var headers: HTTPFields = [.contentType: Self.dicomJSON]
        // Why each failed, for people: a Warning header per PS3.18 8.3.5.
        for failure in failed.prefix(20) {
            headers.append(
                HTTPField(
                    name: HTTPField.Name("Warning")!,
                    value: "299 AllianceHub \"\(failure.detail.replacingOccurrences(of: "\"", with: "'"))\""))
        }
        return Response(
            status: status, headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: "{" + members.joined(separator: ",") + "}")))
    }

    // MARK: QIDO-RS

    @Sendable func searchStudies(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await search(request, context, level: .study)
    }

    @Sendable func searchSeries(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await search(request, context, level: .series)
    }

    @Sendable func searchInstances(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await search(request, context, level: .instance)
    }

    func search(_ request: Request, _ context: HubRequestContext, level: DICOMStore.Level) async throws -> Response {
        _ = try DICOMArchive.access(for: context.caller)
        let parameters = request.uri.queryParameters.map { name, value in
            (name: String(name), value: String(value).removingPercentEncoding ?? String(value))
        }
        let query = try DICOMQuery(
            level: level, study: context.parameters.get("study"), series: context.parameters.get("series"),
            parameters: parameters)
        let rows = try await archive.search(query, for: context.caller, target: request.uri.path)
        guard !rows.isEmpty else { return Response(status: .noContent) }
        let base = Self.baseURL(request, config)
        let keep = Set(DICOMQuery.instanceLevel.union(query.includes).map(\.hex))
        var answer = "["
        for (index, row) in rows.enumerated() {
            if index > 0 { answer += "," }
            var attributes = row.attributes
            if query.needsFullMetadata && !query.includeAll {
                attributes = Self.filtered(attributes, keeping: keep)
            }
            var computed: [String] = []
            switch level {
            case .study:
                let modalities = (row.modalities ?? "").split(separator: "\\").map { Self.jsonString(String($0)) }
                computed = [
                    Self.attribute(.modalitiesInStudy, "CS", modalities),
                    Self.attribute(.retrieveURL, "UR", [Self.jsonString("\(base)/studies/\(row.studyUID)")]),
                    Self.attribute(.numberOfStudyRelatedSeries, "IS", [String(row.seriesCount ?? 0)]),
                    Self.attribute(.numberOfStudyRelatedInstances, "IS", [String(row.instanceCount ?? 0)]),
                ]
            case .series:
                let url = "\(base)/studies/\(row.studyUID)/series/\(row.seriesUID ?? "")"
                computed = [
                    Self.attribute(.retrieveURL, "UR", [Self.jsonString(url)]),
                    Self.attribute(.numberOfSeriesRelatedInstances, "IS", [String(row.instanceCount ?? 0)]),
                ]
            case .instance:
                let url =
                    "\(base)/studies/\(row.studyUID)/series/\(row.seriesUID ?? "")/instances/\(row.sopInstanceUID ?? "")"
                computed = [Self.attribute(.retrieveURL, "UR", [Self.jsonString(url)])]
            }
            DICOMStore.appendMerged("{" + computed.joined(separator: ",") + "}", attributes, to: &answer)
        }
        answer += "]"
        return Response(
            status: .ok, headers: [.contentType: Self.dicomJSON],
            body: ResponseBody(byteBuffer: ByteBuffer(string: answer)))
    }

    /// One DICOM JSON member: the tag, its VR and its values (each already JSON).
    static func attribute(_ tag: DICOMTag, _ vr: String, _ values: [String]) -> String {
        #""\#(tag.hex)":{"vr":"\#(vr)","Value":[\#(values.joined(separator: ","))]}"#
    }

    /// Only the members of a DICOM JSON object whose tags are kept.
    static func filtered(_ object: String, keeping tags: Set<String>) -> String {
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(object.utf8)) as? [String: Any],
            let data = try? JSONSerialization.data(
                withJSONObject: parsed.filter { tags.contains($0.key) }, options: [.withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// A JSON string literal.
    static func jsonString(_ text: String) -> String { DICOMJSON.quoted(text) }

    /// The DICOMweb root as the client reached it (`PublicURL`).
    static func baseURL(_ request: Request, _ config: HubConfiguration) -> String {
        PublicURL.base(request, config) + "/dicomweb"
    }

    // MARK: WADO-RS

    func files(_ request: Request, _ context: HubRequestContext) async throws -> [StoredInstanceFile] {
        try await archive.files(
            study: try context.parameter("study"), series: context.parameters.get("series"),
            instance: context.parameters.get("instance"), for: context.caller)
    }

    /// The stored instances, byte for byte, as `multipart/related; type="application/dicom"`.
    @Sendable func retrieve(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let files = try await files(request, context)
        try Self.checkAccept(request.headers[.accept], storedIn: Set(files.map(\.transferSyntax)))
        let boundary = "dicomweb-" + UUID().uuidString
        let archive = archive
        let body = ResponseBody { writer in
            for (index, file) in files.enumerated() {
                let head =
                    (index == 0 ? "" : "\r\n") + "--\(boundary)\r\nContent-Type: application/dicom\r\n"
                    + "Content-Length: \(file.size)\r\n\r\n"
                try await writer.write(ByteBuffer(string: head))
                let content = try await archive.content(of: file)
                try await content.open().write(to: &writer)
            }
            try await writer.write(ByteBuffer(string: "\r\n--\(boundary)--\r\n"))
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "multipart/related; type=\"application/dicom\"; boundary=\(boundary)"],
            body: body)
    }

    /// WADO-RS returns the instances as stored, never transcoded: an Accept must allow their media type, and a
    /// transfer syntax it names must be the one each instance is stored in.
    static func checkAccept(_ accept: String?, storedIn syntaxes: Set<String>) throws {
        guard let accept, !accept.isEmpty else { return }
        for range in accept.split(separator: ",") {
            let (type, parameters) = MultipartReader.parameters(of: String(range))
            if type == "*/*" || type == "multipart/*" { return }
            guard type == "multipart/related" else { continue }
            let part = (parameters["type"] ?? "application/dicom").lowercased()
            guard part == "application/dicom" || part == "application/*" else { continue }
            let syntax = parameters["transfer-syntax"] ?? "*"
            if syntax == "*" || syntaxes == [syntax] { return }
        }
        throw HubError(
            code: "not_acceptable", kind: .notAcceptable, title: "Not acceptable",
            detail:
                "instances are returned as stored (multipart/related; type=\"application/dicom\", transfer syntax \(syntaxes.sorted().joined(separator: ", ")))"
        )
    }

    /// The instances' attributes (bulk data left out), as a DICOM JSON array.
    @Sendable func metadata(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let files = try await files(request, context)
        let body = "[" + files.map(\.metadata).joined(separator: ",") + "]"
        return Response(
            status: .ok, headers: [.contentType: Self.dicomJSON],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    // MARK: Pending studies

    struct AttachInput: Decodable {
        var studyInstanceUID: String?

        enum CodingKeys: String, CodingKey {
            case studyInstanceUID = "study_instance_uid"
        }
    }

    /// A clinic attaches a study it stored without an exam (no matching accession number) to one of its exams.
    @Sendable func attachStudy(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        try caller.require(.clinic)
        let examId = try context.parameter("id")
        let (input, _) = try await JSONIO.decode(AttachInput.self, from: request, limit: env.config.maxBodyBytes)
        var v = Validator()
        let studyUID = v.text(input.studyInstanceUID, "study_instance_uid", maxLength: 64)
        try v.check()
        let now = env.clock()
        let attachments = try await env.database.write { db -> [Attachment] in
            guard let exam = try ExamStore.exam(db, id: examId) else { throw HubError.notFound("exam", examId) }
            guard exam.clinicId == caller.institutionId else {
                throw HubError.forbidden("studies are attached to the exams of the caller's own clinic")
            }
            guard exam.step != .final && exam.step != .cancelled else {
                throw HubError.invalidTransition("studies cannot be attached to an exam that is \(exam.step.rawValue)")
            }
            guard let study = try DICOMStore.study(db, uid: studyUID!), study.owner == caller.institutionId else {
                throw HubError.validation("study_instance_uid", "no study '\(studyUID!)' stored by this clinic")
            }
            if let other = study.examId, other != exam.id {
                throw HubError.conflict("the study is attached to exam \(other)", field: "study_instance_uid")
            }
            try DICOMStore.attach(db, studyUID: studyUID!, examId: exam.id)
            let access = DICOMAccess(owner: caller.institutionId, readingInstitution: nil)
            for file in try DICOMStore.files(db, studyUID: studyUID!, access: access) {
                let summary =
                    switch try InlineBlobs.content(db, sha256: file.sha256, files: env.blobs) {
                    case .bytes(let bytes): try DICOMFile.parseHeader(bytes).summary
                    case .file(let path): try DICOMFile.parseHeader(fileAt: path).summary
                    }
                try attach(
                    sha256: file.sha256, size: file.size, summary, to: exam, by: caller.actor, db, context: context,
                    now: now)
            }
            return try ExamStore.attachments(db, examId: exam.id)
        }
        return try JSONIO.response(ListResponse(Page(items: attachments, next: nil)))
    }
}
