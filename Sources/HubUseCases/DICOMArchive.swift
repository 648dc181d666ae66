import DICOM
import Foundation
import HubCore
import HubStorage

/// The DICOM archive as its users see it: searching the index, retrieving the stored instances byte for byte, and
/// their metadata. Clinics read their own studies; center staff read the studies of exams routed to them. Every
/// search and retrieval is audited.
public struct DICOMArchive: Sendable {
    let database: any Storage
    let blobs: BlobStore
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        blobs = env.blobs
        clock = env.clock
    }

    /// What the caller may see: the studies its clinic stored, and those of exams routed to its centers.
    public static func access(for caller: Caller) throws(HubError) -> DICOMAccess {
        let principal = try caller.authenticated()
        guard let institution = principal.institutionId else {
            throw HubError.forbidden("DICOMweb is used by the staff of an institution")
        }
        let owner = principal.roles.contains(.clinic) ? institution : nil
        let reading = principal.roles.isDisjoint(with: [.reader, .verifier]) ? nil : institution
        guard owner != nil || reading != nil else {
            throw HubError.forbidden("DICOMweb needs the role clinic, reader or verifier")
        }
        return DICOMAccess(owner: owner, readingInstitution: reading)
    }

    /// The matching studies, series or instances the caller may see; `target` names the search in the audit log.
    public func search(_ query: DICOMQuery, for caller: Caller, target: String) async throws -> [DICOMRow] {
        let access = try Self.access(for: caller)
        let full = query.needsFullMetadata
        let (level, matches, limit, offset) = (query.level, query.matches, query.limit, query.offset)
        let search: @Sendable (any StoreReader) throws -> [DICOMRow] = { db in
            try db.search(
                level: level, matches: matches, access: access, limit: limit, offset: offset, fullMetadata: full)
        }
        // A pinned search reads a handful of rows: on the calling thread. Others may read many and go to a reader.
        let rows = query.isPinned ? try await database.shortRead(search) : try await database.read(search)
        try await audit("dicomweb.search", "dicomweb", target, by: caller, matches: matches, results: rows.count)
        return rows
    }

    /// A search's audit record: what it matched on and how many it found.
    private func audit(
        _ action: String, _ targetType: String, _ target: String, by caller: Caller,
        matches: [(String, DICOMMatch)], results: Int
    ) async throws {
        let now = clock()
        let event = caller.audit(
            action, targetType, target, detail: "matches=\(matches.map(\.0).joined(separator: ",")) results=\(results)")
        try await database.write { db -> Void in try db.appendAudit(event, at: now) }
    }

    /// Every match of `query` the caller may see, page by page from the query's offset, audited once: a DIMSE C-FIND
    /// has no pages. More than `maximum` matches is refused, naming the limit.
    public func searchAll(
        _ query: DICOMQuery, for caller: Caller, target: String, maximum: Int
    ) async throws -> [DICOMRow] {
        let access = try Self.access(for: caller)
        let full = query.needsFullMetadata
        let (level, matches, limit) = (query.level, query.matches, query.limit)
        var rows: [DICOMRow] = []
        var offset = query.offset
        while true {
            let from = offset
            let page = try await database.read { db in
                try db.search(
                    level: level, matches: matches, access: access, limit: limit, offset: from, fullMetadata: full)
            }
            rows += page
            guard rows.count <= maximum else {
                throw HubError(
                    code: "too_many_matches", kind: .tooLarge, title: "Too many matches",
                    detail: "more than \(maximum) matches; narrow the query with more keys")
            }
            guard page.count == limit else { break }
            offset += limit
        }
        try await audit("dicom.search", "dicom", target, by: caller, matches: matches, results: rows.count)
        return rows
    }

    /// The stored instances of a study, a series or one instance that the caller may see, with the retrieval's
    /// audit record; none is a 404.
    public func files(
        study: String, series: String?, instance: String?, for caller: Caller
    ) async throws
        -> [StoredInstanceFile]
    {
        let access = try Self.access(for: caller)
        let now = clock()
        let files = try await database.write { db in
            let files = try db.instanceFiles(
                studyUID: study, seriesUID: series, sopInstanceUID: instance, access: access)
            try db.appendAudit(
                caller.audit(
                    "dicomweb.retrieve", "study", study,
                    detail: "series=\(series ?? "*") instance=\(instance ?? "*") instances=\(files.count)"), at: now)
            return files
        }
        guard !files.isEmpty else { throw HubError.notFound("study, series or instance", instance ?? series ?? study) }
        return files
    }

    /// The stored instances a DIMSE retrieval (C-GET, C-MOVE) names and the caller may see: studies, series or
    /// instances by UID, or a patient's studies. Audited once, as `dicom.retrieve`, with the count.
    public func retrieval(
        studies: [String], series: [String], instances: [String], patientID: String?, for caller: Caller,
        target: String
    ) async throws -> [StoredInstanceFile] {
        let access = try Self.access(for: caller)
        let now = clock()
        return try await database.write { db in
            var studyUIDs = studies
            if studyUIDs.isEmpty, let patientID {
                studyUIDs = try db.search(
                    level: .study, matches: [("PatientID", .equals(patientID))], access: access, limit: 5000,
                    offset: 0
                ).map(\.studyUID)
            }
            let seriesSet = Set(series)
            let instanceSet = Set(instances)
            var files: [StoredInstanceFile] = []
            for study in studyUIDs {
                files += try db.instanceFiles(studyUID: study, access: access).filter { file in
                    (seriesSet.isEmpty || seriesSet.contains(file.seriesUID))
                        && (instanceSet.isEmpty || instanceSet.contains(file.sopInstanceUID))
                }
            }
            try db.appendAudit(
                caller.audit(
                    "dicom.retrieve", "dicom", target,
                    detail: "studies=\(studyUIDs.count) series=\(series.count) instances=\(files.count)"), at: now)
            return files
        }
    }

    /// Storage Commitment (PS3.4 J): which of the referenced instances the hub holds, durably, for the caller, and
    /// why each other one is not committed. Audited as `dicom.commitment`, with the transaction's UID.
    public func commitment(
        _ references: [(sopClassUID: String, sopInstanceUID: String)], transaction: String, for caller: Caller
    ) async throws -> [(sopClassUID: String, sopInstanceUID: String, failure: CommitmentFailure?)] {
        let access = try Self.access(for: caller)
        let now = clock()
        let uids = references.map(\.sopInstanceUID)
        let stored = try await database.write { db in
            let stored = try db.storedClasses(sopInstanceUIDs: uids, access: access)
            let failed = references.filter { stored[$0.sopInstanceUID] != $0.sopClassUID }.count
            try db.appendAudit(
                caller.audit(
                    "dicom.commitment", "dicom", transaction,
                    detail: "instances=\(references.count) failed=\(failed)"), at: now)
            return stored
        }
        return references.map { reference in
            let failure: CommitmentFailure? =
                switch stored[reference.sopInstanceUID] {
                case nil: .noSuchInstance
                case reference.sopClassUID: nil
                default: .classInstanceConflict
                }
            return (reference.sopClassUID, reference.sopInstanceUID, failure)
        }
    }

    /// Where an instance's bytes are: in the database (small instances) or a file of the blob store.
    public func content(of file: StoredInstanceFile) async throws -> BlobContent {
        try await database.blobContent(sha256: file.sha256, files: blobs)
    }
}

/// Why an instance is not committed (PS3.4 J.3.3.1, Failure Reason (0008,1197)).
public enum CommitmentFailure: UInt16, Sendable {
    /// The hub does not hold it, or not for this caller (0112H).
    case noSuchInstance = 0x0112
    /// It is held under another SOP class (0119H).
    case classInstanceConflict = 0x0119
}
