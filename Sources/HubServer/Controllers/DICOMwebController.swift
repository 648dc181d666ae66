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
                                code: "payload_too_large", status: 413, title: "Request body too large",
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
                                code: "payload_too_large", status: 413, title: "Request body too large",
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
                metadata: DICOMJSON.encode(dataset), study: DICOMJSON.encode(dataset, only: Self.studyLevel),
                series: DICOMJSON.encode(dataset, only: Self.seriesLevel),
                instance: DICOMJSON.encode(dataset, only: Self.instanceLevel)
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
            uploadedBy: actor, uploadedAt: now, dicom: Attachments.tags(summary),
            patientMismatch: Attachments.patientMismatch(summary, exam: exam))
        _ = try Attachments(env).record(
            attachment,
            audit: { action, detail, key in
                context.audit(action, "exam", exam.id, patientKey: key, detail: detail)
            }, db, now: now)
    }

    /// The STOW-RS answer: 200 all stored, 202 some failed, 409 none stored.
    func storeResponse(referenced: [StoredPart], failed: [FailedPart], request: Request) throws -> Response {
        let base = Self.baseURL(request, env.config)
        func attribute(_ tag: String, _ vr: String, _ values: [String]) -> String {
            #""\#(tag)":{"vr":"\#(vr)","Value":[\#(values.joined(separator: ","))]}"#
        }
        var members: [String] = []
        let studies = Set(referenced.map(\.instance.studyUID))
        if studies.count == 1, let study = studies.first {
            members.append(attribute("00081190", "UR", [Self.jsonString("\(base)/studies/\(study)")]))
        }
        if !failed.isEmpty {
            let items = failed.map { failure -> String in
                var item: [String] = []
                if let sopClass = failure.sopClassUID {
                    item.append(attribute("00081150", "UI", [Self.jsonString(sopClass)]))
                }
                if let sop = failure.sopInstanceUID { item.append(attribute("00081155", "UI", [Self.jsonString(sop)])) }
                item.append(attribute("00081197", "US", [String(failure.reason.rawValue)]))
                return "{" + item.joined(separator: ",") + "}"
            }
            members.append(attribute("00081198", "SQ", items))
        }
        if !referenced.isEmpty {
            let items = referenced.map { part -> String in
                let i = part.instance
                var item: [String] = []
                if let sopClass = i.sopClassUID {
                    item.append(attribute("00081150", "UI", [Self.jsonString(sopClass)]))
                }
                item.append(attribute("00081155", "UI", [Self.jsonString(i.sopInstanceUID)]))
                let url = "\(base)/studies/\(i.studyUID)/series/\(i.seriesUID)/instances/\(i.sopInstanceUID)"
                item.append(attribute("00081190", "UR", [Self.jsonString(url)]))
                return "{" + item.joined(separator: ",") + "}"
            }
            members.append(attribute("00081199", "SQ", items))
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

    static let studyTags = [
        "00080005", "00080020", "00080030", "00080050", "00080090", "00081030", "00100010", "00100020", "00100030",
        "00100040", "0020000D", "00200010",
    ]
    static let seriesTags = ["00080060", "0008103E", "0020000E", "00200011", "00080021", "00080031"]
    static let instanceTags = [
        "00080016", "00080018", "00080060", "0020000D", "0020000E", "00200013", "00280008", "00280010", "00280011",
        "00280100",
    ]
    static let studyLevel = tags(studyTags)
    static let seriesLevel = tags(seriesTags)
    static let instanceLevel = tags(instanceTags)

    static func tags(_ hex: [String]) -> Set<DICOMTag> {
        Set(hex.compactMap { UInt32($0, radix: 16).map(DICOMTag.init) })
    }

    // MARK: QIDO-RS

    /// Attribute keywords QIDO-RS accepts, with their tags.
    static let keywords: [String: String] = [
        "PatientID": "00100020", "PatientName": "00100010", "StudyDate": "00080020", "StudyTime": "00080030",
        "StudyInstanceUID": "0020000D", "AccessionNumber": "00080050", "ModalitiesInStudy": "00080061",
        "SeriesInstanceUID": "0020000E", "Modality": "00080060", "SOPInstanceUID": "00080018",
        "SOPClassUID": "00080016", "StudyDescription": "00081030", "PatientBirthDate": "00100030",
        "PatientSex": "00100040", "SeriesNumber": "00200011", "InstanceNumber": "00200013",
        "NumberOfFrames": "00280008", "Rows": "00280010", "Columns": "00280011", "StudyID": "00200010",
        "ReferringPhysicianName": "00080090", "SeriesDescription": "0008103E",
    ]

    @Sendable func searchStudies(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await search(request, context, level: .study)
    }

    @Sendable func searchSeries(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await search(request, context, level: .series)
    }

    @Sendable func searchInstances(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await search(request, context, level: .instance)
    }

    /// Attributes whose single value finds a few studies through an index (a UID finds one study, series or
    /// instance at any level).
    static let pinningKeywords: Set<String> = ["PatientID", "AccessionNumber"]

    func access(_ caller: Principal) throws -> DICOMAccess {
        guard let institution = caller.institutionId else {
            throw HubError.forbidden("DICOMweb is used by the staff of an institution")
        }
        let owner = caller.roles.contains(.clinic) ? institution : nil
        let reading = caller.roles.isDisjoint(with: [.reader, .verifier]) ? nil : institution
        guard owner != nil || reading != nil else {
            throw HubError.forbidden("DICOMweb needs the role clinic, reader or verifier")
        }
        return DICOMAccess(owner: owner, readingInstitution: reading)
    }

    func search(_ request: Request, _ context: HubRequestContext, level: DICOMStore.Level) async throws -> Response {
        let caller = try context.authenticated()
        let access = try access(caller)
        let limit = try Self.integer(request, "limit", default: 100, range: 1...1000)
        let offset = try Self.integer(request, "offset", default: 0, range: 0...1_000_000_000)
        var matches: [(String, DICOMMatch)] = []
        if let study = context.parameters.get("study") { matches.append(("StudyInstanceUID", .equals(study))) }
        if let series = context.parameters.get("series") { matches.append(("SeriesInstanceUID", .equals(series))) }
        var includes: Set<String> = []
        var includeAll = false
        let searchable = DICOMStore.searchable(at: level)
        for (rawName, rawValue) in request.uri.queryParameters {
            let name = String(rawName)
            let value = String(rawValue).removingPercentEncoding ?? String(rawValue)
            switch name {
            case "limit", "offset", "fuzzymatching": continue
            case "includefield":
                for field in value.split(separator: ",") {
                    if field == "all" {
                        includeAll = true
                    } else if let tag = Self.tag(String(field)) {
                        includes.insert(tag)
                    } else {
                        throw HubError.validation("includefield", "'\(field)' is not an attribute keyword or tag")
                    }
                }
                continue
            default: break
            }
            let keyword = Self.keywords[name] != nil ? name : Self.keywords.first { $0.value == name.uppercased() }?.key
            guard let keyword, searchable.contains(keyword) else {
                throw HubError.validation(
                    name, "is not searchable here; use \(searchable.sorted().joined(separator: ", "))")
            }
            guard !value.isEmpty else { continue }
            matches.append((keyword, try Self.match(keyword, value)))
        }
        let conditions = matches
        // At instance level the index keeps the default attributes; more come from the whole metadata.
        let full = level == .instance && (includeAll || !includes.isEmpty)
        let search: @Sendable (Database) throws -> [DICOMRow] = { db in
            try DICOMStore.search(
                db, level: level, matches: conditions, access: access, limit: limit, offset: offset,
                fullMetadata: full)
        }
        // Pinned by an indexed identifier, without full metadata and within the default page, a search reads a
        // handful of rows: on the calling thread. Others may read many and go to a reader.
        let pinned =
            !full && limit <= 100 && offset == 0
            && conditions.contains { keyword, match in
                guard case .equals = match else { return false }
                return keyword.hasSuffix("UID") || (level == .study && Self.pinningKeywords.contains(keyword))
            }
        let rows = pinned ? try await env.database.shortRead(search) : try await env.database.read(search)
        let base = Self.baseURL(request, env.config)
        var answer = "["
        for (index, row) in rows.enumerated() {
            if index > 0 { answer += "," }
            var attributes = row.attributes
            if full && !includeAll {
                attributes = Self.filtered(attributes, keeping: Set(Self.instanceTags).union(includes))
            }
            var computed: [String] = []
            switch level {
            case .study:
                let modalities = (row.modalities ?? "").split(separator: "\\").map { Self.jsonString(String($0)) }
                computed = [
                    #""00080061":{"vr":"CS","Value":[\#(modalities.joined(separator: ","))]}"#,
                    #""00081190":{"vr":"UR","Value":[\#(Self.jsonString("\(base)/studies/\(row.studyUID)"))]}"#,
                    #""00201206":{"vr":"IS","Value":[\#(row.seriesCount ?? 0)]}"#,
                    #""00201208":{"vr":"IS","Value":[\#(row.instanceCount ?? 0)]}"#,
                ]
            case .series:
                let url = "\(base)/studies/\(row.studyUID)/series/\(row.seriesUID ?? "")"
                computed = [
                    #""00081190":{"vr":"UR","Value":[\#(Self.jsonString(url))]}"#,
                    #""00201209":{"vr":"IS","Value":[\#(row.instanceCount ?? 0)]}"#,
                ]
            case .instance:
                let url =
                    "\(base)/studies/\(row.studyUID)/series/\(row.seriesUID ?? "")/instances/\(row.sopInstanceUID ?? "")"
                computed = [#""00081190":{"vr":"UR","Value":[\#(Self.jsonString(url))]}"#]
            }
            DICOMStore.appendMerged("{" + computed.joined(separator: ",") + "}", attributes, to: &answer)
        }
        answer += "]"
        let now = env.clock()
        try await env.database.write { db -> Void in
            try AuditLog.append(
                db,
                context.audit(
                    "dicomweb.search", "dicomweb", request.uri.path,
                    detail: "matches=\(conditions.map(\.0).joined(separator: ",")) results=\(rows.count)"), at: now)
        }
        guard !rows.isEmpty else { return Response(status: .noContent) }
        return Response(
            status: .ok, headers: [.contentType: Self.dicomJSON],
            body: ResponseBody(byteBuffer: ByteBuffer(string: answer)))
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

    /// A keyword or an 8-digit hex tag, as a tag.
    static func tag(_ field: String) -> String? {
        if let tag = keywords[field] { return tag }
        let upper = field.uppercased()
        return upper.count == 8 && upper.allSatisfy(\.isHexDigit) ? upper : nil
    }

    /// How a QIDO value matches: wildcards, date ranges, UID lists, or single values.
    static func match(_ keyword: String, _ value: String) throws -> DICOMMatch {
        if keyword.hasSuffix("UID") && (value.contains("\\") || value.contains(",")) {
            return .list(value.split(whereSeparator: { $0 == "\\" || $0 == "," }).map(String.init))
        }
        if keyword == "StudyDate" {
            guard value.contains("-") else {
                guard isDate(value) else { throw HubError.validation(keyword, "must be YYYYMMDD or a range") }
                return .equals(value)
            }
            let ends = value.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let from = ends[0].isEmpty ? nil : ends[0]
            let to = ends.count > 1 && !ends[1].isEmpty ? ends[1] : nil
            guard from.map(isDate) ?? true, to.map(isDate) ?? true, from != nil || to != nil else {
                throw HubError.validation(keyword, "a range is YYYYMMDD-YYYYMMDD, either end may be left open")
            }
            return .dateRange(from, to)
        }
        if value.contains("*") || value.contains("?") { return .wildcard(value) }
        return .equals(value)
    }

    static func isDate(_ value: String) -> Bool { value.count == 8 && value.allSatisfy(\.isNumber) }

    static func integer(
        _ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>
    ) throws
        -> Int
    {
        guard let text = request.query(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw HubError.validation(name, "must be a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    /// The DICOMweb root as the client reached it (`PublicURL`).
    static func baseURL(_ request: Request, _ config: HubConfiguration) -> String {
        PublicURL.base(request, config) + "/dicomweb"
    }

    // MARK: WADO-RS

    func files(_ request: Request, _ context: HubRequestContext) async throws -> [StoredInstanceFile] {
        let caller = try context.authenticated()
        let access = try access(caller)
        let study = try context.parameter("study")
        let series = context.parameters.get("series")
        let instance = context.parameters.get("instance")
        let now = env.clock()
        let files = try await env.database.write { db in
            let files = try DICOMStore.files(
                db, studyUID: study, seriesUID: series, sopInstanceUID: instance, access: access)
            try AuditLog.append(
                db,
                context.audit(
                    "dicomweb.retrieve", "study", study,
                    detail: "series=\(series ?? "*") instance=\(instance ?? "*") instances=\(files.count)"), at: now)
            return files
        }
        guard !files.isEmpty else { throw HubError.notFound("study, series or instance", instance ?? series ?? study) }
        return files
    }

    /// The stored instances, byte for byte, as `multipart/related; type="application/dicom"`.
    @Sendable func retrieve(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let files = try await files(request, context)
        try Self.checkAccept(request.headers[.accept], storedIn: Set(files.map(\.transferSyntax)))
        let boundary = "dicomweb-" + UUID().uuidString
        let (blobs, database) = (env.blobs, env.database)
        let body = ResponseBody { writer in
            for (index, file) in files.enumerated() {
                let head =
                    (index == 0 ? "" : "\r\n") + "--\(boundary)\r\nContent-Type: application/dicom\r\n"
                    + "Content-Length: \(file.size)\r\n\r\n"
                try await writer.write(ByteBuffer(string: head))
                let content = try await InlineBlobs.content(database, sha256: file.sha256, files: blobs)
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
            code: "not_acceptable", status: 406, title: "Not acceptable",
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
