import Foundation
import HubCore

/// An attachment of an exam, as stored: the bytes are in the blob store under `sha256`, or in the
/// database (`InlineBlobs`) for a small DICOM instance stored through STOW-RS.
public struct Attachment: Sendable, Codable, Equatable {
    public var examId: String
    public var sha256: String
    public var mediaType: String
    /// `dicom`, `ecg-aecg`, `pdf`, `image`.
    public var kind: String
    public var size: Int
    public var uploadedBy: String
    public var uploadedAt: Timestamp
    /// Key DICOM attributes, for DICOM files.
    public var dicom: [String: String]?
    /// Set when the file's patient does not match the exam's patient; the file is kept and flagged.
    public var patientMismatch: String?

    public init(
        examId: String, sha256: String, mediaType: String, kind: String, size: Int, uploadedBy: String,
        uploadedAt: Timestamp, dicom: [String: String]?, patientMismatch: String?
    ) {
        self.examId = examId
        self.sha256 = sha256
        self.mediaType = mediaType
        self.kind = kind
        self.size = size
        self.uploadedBy = uploadedBy
        self.uploadedAt = uploadedAt
        self.dicom = dicom
        self.patientMismatch = patientMismatch
    }

    enum CodingKeys: String, CodingKey {
        case sha256, kind, size, dicom
        case examId = "exam_id"
        case mediaType = "media_type"
        case uploadedBy = "uploaded_by"
        case uploadedAt = "uploaded_at"
        case patientMismatch = "patient_mismatch"
    }
}
