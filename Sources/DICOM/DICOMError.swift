/// An error thrown when input cannot be parsed as DICOM.
///
/// `code` is stable and meant for programs (logging, metrics, HTTP mapping);
/// `detail` is for people and names the tag and byte offset involved.
public struct DICOMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable machine-readable identifier, e.g. `truncated` or `bad_vr`.
    public let code: String
    /// Human-readable explanation, naming the tag and offset where known.
    public let detail: String
    /// Byte offset in the parsed buffer where the problem was found, if known.
    public let offset: Int?

    public init(code: String, detail: String, offset: Int? = nil) {
        self.code = code
        self.detail = detail
        self.offset = offset
    }

    public var description: String {
        if let offset { return "\(code) at offset \(offset): \(detail)" }
        return "\(code): \(detail)"
    }

    /// No 128-byte preamble followed by "DICM".
    public static let notDICOM = "not_dicom"
    /// No group 0002 meta information, or no Transfer Syntax UID in it.
    public static let missingMeta = "missing_meta"
    /// The input ends in the middle of an element header or a structure.
    public static let truncated = "truncated"
    /// A declared value length runs past the end of the available input.
    public static let lengthPastEnd = "length_past_end"
    /// A declared length is larger than the configured sanity limit.
    public static let absurdLength = "absurd_length"
    /// The transfer syntax UID is not one this parser understands.
    public static let unsupportedTransferSyntax = "unsupported_transfer_syntax"
    /// Sequence, item or fragment structure is inconsistent, or nested too deep.
    public static let malformedSequence = "malformed_sequence"
    /// An explicit VR field does not hold a known value representation.
    public static let badVR = "bad_vr"
    /// The deflated dataset could not be inflated or inflates beyond the limit.
    public static let inflateFailed = "inflate_failed"
    /// The deflated dataset inflates to more than the size allowed (`DICOMFile.checkInflatedSize`).
    public static let inflatedTooLarge = "inflated_too_large"
    /// `parseHeader` needed more than `maxBytes` to reach the pixel data.
    public static let headerTooLarge = "header_too_large"
    /// The file could not be opened or read.
    public static let ioError = "io_error"
}

extension DICOMError {
    static func truncated(_ what: String, at offset: Int) -> DICOMError {
        DICOMError(code: truncated, detail: "input ends inside \(what)", offset: offset)
    }
}
