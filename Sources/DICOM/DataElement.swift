/// One parsed data element: where it is and, for containers, what it holds.
///
/// Values are not copied out of the input; `valueRange` indexes the byte
/// buffer of the owning `DataSet`, and typed access goes through `DataSet`
/// because decoding needs that dataset's byte order and character set.
public struct DataElement: Sendable {
    /// The element's tag.
    public let tag: DICOMTag
    /// The VR from the stream (explicit) or the built-in dictionary (implicit;
    /// `UN` when unknown).
    public let vr: VR
    /// Offset of the element's tag in the dataset buffer.
    public let headerOffset: Int
    /// The encoded value bytes in the dataset buffer. For undefined-length
    /// sequences and encapsulated pixel data this spans every item up to and
    /// including the sequence delimitation item.
    public let valueRange: Range<Int>
    /// True when the element was encoded with length 0xFFFFFFFF.
    public let hasUndefinedLength: Bool
    /// The items of a sequence (SQ, or an undefined-length UN); nil otherwise.
    public let items: [DataSet]?
    /// Encapsulated pixel data: byte ranges of each item's value in order.
    /// The first range is the Basic Offset Table (often empty); the rest are
    /// compressed fragments, kept as is.
    public let fragments: [Range<Int>]?

    init(
        tag: DICOMTag, vr: VR, headerOffset: Int, valueRange: Range<Int>,
        hasUndefinedLength: Bool = false, items: [DataSet]? = nil, fragments: [Range<Int>]? = nil
    ) {
        self.tag = tag
        self.vr = vr
        self.headerOffset = headerOffset
        self.valueRange = valueRange
        self.hasUndefinedLength = hasUndefinedLength
        self.items = items
        self.fragments = fragments
    }

    /// Number of value bytes as stored (for containers, the whole encoded span).
    public var length: Int { valueRange.count }

    /// True for sequences, including undefined-length UN read as a sequence.
    public var isSequence: Bool { items != nil }

    /// True for encapsulated (fragmented) pixel data.
    public var isEncapsulated: Bool { fragments != nil }
}

/// Where the top-level pixel data starts when parsing stopped before its value.
struct PixelDataHeader: Sendable {
    let tag: DICOMTag
    let vr: VR
    let headerOffset: Int
    let valueOffset: Int
    /// nil for undefined length (encapsulated).
    let length: Int?
}
