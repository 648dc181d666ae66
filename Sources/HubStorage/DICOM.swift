import Foundation
import HubCore

/// One stored DICOM instance as the index keeps it: its identifiers, where its bytes are, and its attributes at each
/// level as DICOM JSON objects (PS3.18 F.2), without bulk data.
public struct IndexedInstance: Sendable {
    public var sopInstanceUID: String
    public var seriesUID: String
    public var studyUID: String
    public var sopClassUID: String?
    public var instanceNumber: Int?
    public var seriesNumber: Int?
    public var modality: String?
    public var patientID: String?
    public var patientName: String?
    public var studyDate: String?
    public var accessionNumber: String?
    public var sha256: String
    public var size: Int
    public var transferSyntax: String
    public var studyAttributes: String
    public var seriesAttributes: String
    /// The attributes an instance search answers with by default.
    public var instanceAttributes: String
    public var metadata: String

    public init(
        sopInstanceUID: String, seriesUID: String, studyUID: String, sopClassUID: String?, instanceNumber: Int?,
        seriesNumber: Int?, modality: String?, patientID: String?, patientName: String?, studyDate: String?,
        accessionNumber: String?, sha256: String, size: Int, transferSyntax: String, studyAttributes: String,
        seriesAttributes: String, instanceAttributes: String, metadata: String
    ) {
        self.instanceAttributes = instanceAttributes
        self.sopInstanceUID = sopInstanceUID
        self.seriesUID = seriesUID
        self.studyUID = studyUID
        self.sopClassUID = sopClassUID
        self.instanceNumber = instanceNumber
        self.seriesNumber = seriesNumber
        self.modality = modality
        self.patientID = patientID
        self.patientName = patientName
        self.studyDate = studyDate
        self.accessionNumber = accessionNumber
        self.sha256 = sha256
        self.size = size
        self.transferSyntax = transferSyntax
        self.studyAttributes = studyAttributes
        self.seriesAttributes = seriesAttributes
        self.metadata = metadata
    }
}

/// Who may see which studies: the institution that stored them, and the staff of the center reading the exam they
/// are attached to.
public struct DICOMAccess: Sendable {
    public var owner: String?
    public var readingInstitution: String?

    public init(owner: String?, readingInstitution: String?) {
        self.owner = owner
        self.readingInstitution = readingInstitution
    }

}

/// One QIDO-RS match condition on an indexed column.
public enum DICOMMatch: Sendable {
    /// Single value matching.
    case equals(String)
    /// `*` and `?` wildcards.
    case wildcard(String)
    /// A date range, either end open (`YYYYMMDD`).
    case dateRange(String?, String?)
    /// UID list matching (values separated by `\` or `,`).
    case list([String])
}

/// A row of a search answer: the level's attributes and the counts the index keeps.
public struct DICOMRow: Sendable {
    public var studyUID: String
    public var seriesUID: String?
    public var sopInstanceUID: String?
    public var attributes: String
    public var modalities: String?
    public var seriesCount: Int?
    public var instanceCount: Int?
    public var examId: String?

    public init(
        studyUID: String, seriesUID: String? = nil, sopInstanceUID: String? = nil, attributes: String,
        modalities: String? = nil, seriesCount: Int? = nil, instanceCount: Int? = nil, examId: String? = nil
    ) {
        self.studyUID = studyUID
        self.seriesUID = seriesUID
        self.sopInstanceUID = sopInstanceUID
        self.attributes = attributes
        self.modalities = modalities
        self.seriesCount = seriesCount
        self.instanceCount = instanceCount
        self.examId = examId
    }
}

/// What a stored instance's bytes are, for retrieval.
public struct StoredInstanceFile: Sendable {
    public var sopInstanceUID: String
    public var seriesUID: String
    public var studyUID: String
    public var sha256: String
    public var size: Int
    public var transferSyntax: String
    public var metadata: String

    public init(
        sopInstanceUID: String, seriesUID: String, studyUID: String, sha256: String, size: Int, transferSyntax: String,
        metadata: String
    ) {
        self.sopInstanceUID = sopInstanceUID
        self.seriesUID = seriesUID
        self.studyUID = studyUID
        self.sha256 = sha256
        self.size = size
        self.transferSyntax = transferSyntax
        self.metadata = metadata
    }
}

/// The DICOM index: what storing an instance answers and what each level is searched on.
public enum DICOMStore {
    /// Two JSON objects' members in one object, as text (their keys are expected to differ).
    public static func merge(_ first: String, _ second: String) -> String {
        var merged = ""
        appendMerged(first, second, to: &merged)
        return merged
    }

    /// Appends `merge(first, second)` to `text`, without an intermediate copy.
    public static func appendMerged(_ first: String, _ second: String, to text: inout String) {
        let a = first.trimmingASCIIWhitespace()
        let b = second.trimmingASCIIWhitespace()
        // An empty object (`{}`) has nothing to add.
        guard a.utf8.count > 2 else { return text += b }
        guard b.utf8.count > 2 else { return text += a }
        text += a[..<a.utf8.index(before: a.endIndex)]
        text += ","
        text += b[b.utf8.index(after: b.startIndex)...]
    }

    public enum Outcome: Sendable, Equatable {
        case stored
        /// The same bytes under the same SOP Instance UID: nothing to do.
        case alreadyStored
        /// Refused, with the reason.
        case conflict(String)
    }

    public enum Level: Sendable {
        case study, series, instance
    }

    /// Attributes each level can be searched on.
    public static func searchable(at level: Level) -> Set<String> {
        var names: Set<String> = [
            "PatientID", "PatientName", "StudyDate", "StudyInstanceUID", "AccessionNumber", "ModalitiesInStudy",
        ]
        if level != .study { names.formUnion(["SeriesInstanceUID", "Modality"]) }
        if level == .instance { names.formUnion(["SOPInstanceUID", "SOPClassUID"]) }
        return names
    }
}
