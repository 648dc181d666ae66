/// Limits and tolerances for parsing untrusted input.
public struct DICOMParseOptions: Sendable {
    /// Maximum nesting of sequences; deeper input throws `malformed_sequence`.
    /// Bounded so hostile input cannot exhaust the stack.
    public var maxDepth: Int = 64
    /// Largest single value length accepted; larger declared lengths throw
    /// `absurd_length` before any comparison with the input size.
    public var maxValueLength: Int = 0x8000_0000
    /// Cap on the inflated size of a Deflated dataset. Deflate expands up to
    /// ~1000:1, so without a cap a 1 MB upload could demand a gigabyte.
    public var maxInflatedSize: Int = 512 << 20
    /// When the first dataset element contradicts the declared explicit or
    /// implicit VR, read the dataset the way it is actually encoded (as
    /// pydicom and DCMTK do) instead of failing.
    public var detectVRMismatch: Bool = true
    /// Character set assumed for non-ASCII text when (0008,0005) is absent.
    /// Undeclared Chinese text is common in practice; valid UTF-8 is still
    /// tried first, and Latin-1 is the last resort.
    public var fallbackCharacterSet: String = "GB18030"

    public init() {}

    /// The defaults.
    public static let `default` = DICOMParseOptions()
}
