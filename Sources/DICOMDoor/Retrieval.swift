import DICOM
import DIMSE
import Foundation
import HubStorage
import HubUseCases

/// What a C-GET or C-MOVE identifier names (PS3.4 C.4.2.2.1, C.4.3.2.1): the unique keys down to its level.
struct RetrieveKeys: Sendable {
    var studies: [String]
    var series: [String]
    var instances: [String]
    var patientID: String?
    var level: String

    /// The keys of `identifier`, or why they do not name anything to retrieve.
    init(_ identifier: FindIdentifier, patientRoot: Bool) throws(DIMSEFailure) {
        func refuse(_ comment: String) -> DIMSEFailure {
            DIMSEFailure(status: Status.identifierDoesNotMatchSOPClass, comment: comment)
        }
        level = identifier.value(.queryRetrieveLevel)?.uppercased() ?? ""
        studies = identifier.key(.studyInstanceUID)?.values ?? []
        series = identifier.key(.seriesInstanceUID)?.values ?? []
        instances = identifier.key(.sopInstanceUID)?.values ?? []
        patientID = identifier.value(.patientID)
        switch level {
        case "PATIENT" where patientRoot:
            guard patientID != nil else { throw refuse("a PATIENT level retrieval names a Patient ID (0010,0020)") }
        case "STUDY":
            guard !studies.isEmpty else { throw refuse("a STUDY level retrieval names Study Instance UIDs") }
        case "SERIES":
            guard !studies.isEmpty, !series.isEmpty else {
                throw refuse("a SERIES level retrieval names the Study and the Series Instance UIDs")
            }
        case "IMAGE":
            guard !studies.isEmpty, !series.isEmpty, !instances.isEmpty else {
                throw refuse("an IMAGE level retrieval names the Study, Series and SOP Instance UIDs")
            }
        case "":
            throw refuse("the identifier has no Query/Retrieve Level (0008,0052)")
        default:
            throw refuse("Query/Retrieve Level '\(level)' is not one of this information model's")
        }
    }
}

/// A stored instance as DIMSE sends it: its SOP class and transfer syntax from its meta group, and its data set's
/// bytes after that group, read a piece at a time so that a large instance is never held whole.
struct OutgoingInstance: Sendable {
    let file: StoredInstanceFile
    let sopClassUID: String
    let transferSyntax: String
    private let content: BlobContent
    private let dataSetOffset: Int

    /// The largest meta group read; real ones are a few hundred bytes.
    static let metaPrefixBytes = 64 * 1024

    init(_ file: StoredInstanceFile, content: BlobContent) throws {
        let prefix: [UInt8]
        switch content {
        case .bytes(let bytes): prefix = Array(bytes.prefix(Self.metaPrefixBytes))
        case .file(let path):
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw DIMSEFailure(status: Status.processingFailure, comment: "the stored file is missing")
            }
            defer { try? handle.close() }
            prefix = Array(try handle.read(upToCount: Self.metaPrefixBytes) ?? Data())
        }
        let (meta, offset) = try DICOMFile.meta(prefix)
        self.file = file
        self.content = content
        dataSetOffset = offset
        sopClassUID = meta.uid(.mediaStorageSOPClassUID) ?? ""
        transferSyntax = meta.uid(.transferSyntaxUID) ?? file.transferSyntax
    }

    /// Calls `body` with the data set's bytes in order, at most `chunk` bytes at a time; `isLast` marks the end.
    func pieces(chunk: Int, _ body: (_ bytes: [UInt8], _ isLast: Bool) async throws -> Void) async throws {
        switch content {
        case .bytes(let bytes):
            var start = dataSetOffset
            repeat {
                let end = min(start + chunk, bytes.count)
                try await body(Array(bytes[start..<end]), end == bytes.count)
                start = end
            } while start < bytes.count
        case .file(let path):
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw DIMSEFailure(status: Status.processingFailure, comment: "the stored file is missing")
            }
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(dataSetOffset))
            var next = Array(try handle.read(upToCount: chunk) ?? Data())
            repeat {
                let current = next
                next = current.count == chunk ? Array(try handle.read(upToCount: chunk) ?? Data()) : []
                try await body(current, next.isEmpty)
            } while !next.isEmpty
        }
    }
}

/// The tally of a retrieval's C-STORE sub-operations, and the final response it makes (PS3.4 C.4.2.1.5, C.4.3.1.4).
struct SubOperations: Sendable {
    var remaining: Int
    var completed = 0
    var failed = 0
    var warning = 0
    var failedUIDs: [String] = []

    init(remaining: Int) { self.remaining = remaining }

    /// Counts one sub-operation by the status its C-STORE-RSP gave.
    mutating func count(_ status: UInt16, instance: String) {
        remaining -= 1
        switch status {
        case Status.success: completed += 1
        case 0xB000...0xBFFF, 0x0107, 0x0116: warning += 1
        default:
            failed += 1
            failedUIDs.append(instance)
        }
    }

    /// A pending response with the counts so far.
    func pending(to request: Command, field: Command.Field) -> Command {
        var response = Command.response(to: request, field: field, status: Status.pending)
        response.remaining = UInt16(clamping: remaining)
        fill(&response)
        return response
    }

    /// The final response: success when every sub-operation succeeded, B000H (with the failed instances in the
    /// identifier) when some did not, FE00H when the retrieval was cancelled.
    func final(to request: Command, field: Command.Field, cancelled: Bool = false) -> (Command, [DICOMWriter.Element]?)
    {
        let status =
            cancelled ? Status.cancel : failed == 0 && warning == 0 ? Status.success : Status.subOperationsFailed
        var response = Command.response(to: request, field: field, status: status, hasDataSet: !failedUIDs.isEmpty)
        if cancelled { response.remaining = UInt16(clamping: remaining) }
        fill(&response)
        guard !failedUIDs.isEmpty else { return (response, nil) }
        return (response, [.init(.failedSOPInstanceUIDList, .UI, .strings(failedUIDs))])
    }

    private func fill(_ response: inout Command) {
        response.completed = UInt16(clamping: completed)
        response.failed = UInt16(clamping: failed)
        response.warning = UInt16(clamping: warning)
    }
}
