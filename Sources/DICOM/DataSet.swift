/// An ordered collection of data elements sharing one byte buffer, byte
/// order and character set: the main dataset, the file meta group, or one
/// sequence item.
public struct DataSet: Sendable {
    /// Elements in encoded order (normally ascending tag order).
    public let elements: [DataElement]
    /// Byte order and VR explicitness used to decode binary values.
    public let encoding: Encoding
    /// Character set in effect: this dataset's (0008,0005) or the one
    /// inherited from the enclosing dataset.
    public let characterSet: SpecificCharacterSet
    /// The byte buffer that `DataElement.valueRange` indexes. For deflated
    /// transfer syntaxes this is the inflated stream, not the file.
    public let buffer: [UInt8]
    // Lets lookups use binary search; datasets violating tag order fall back to a scan.
    private let isSorted: Bool

    init(elements: [DataElement], encoding: Encoding, characterSet: SpecificCharacterSet, buffer: [UInt8]) {
        self.elements = elements
        self.encoding = encoding
        self.characterSet = characterSet
        self.buffer = buffer
        var sorted = true
        var i = 1
        while i < elements.count {
            if elements[i - 1].tag >= elements[i].tag { sorted = false; break }
            i += 1
        }
        self.isSorted = sorted
    }

    /// The element with `tag`, or nil.
    public subscript(tag: DICOMTag) -> DataElement? {
        if isSorted {
            var low = 0, high = elements.count
            while low < high {
                let mid = low + (high - low) / 2
                let t = elements[mid].tag
                if t == tag { return elements[mid] }
                if t < tag { low = mid + 1 } else { high = mid }
            }
            return nil
        }
        return elements.first { $0.tag == tag }
    }

    /// True when an element with `tag` is present.
    public func contains(_ tag: DICOMTag) -> Bool { self[tag] != nil }

    /// The tags present, in encoded order.
    public var tags: [DICOMTag] { elements.map(\.tag) }

    /// The value bytes of `element`, or nil if they lie outside the buffer
    /// (which cannot happen for elements produced by the parser).
    public func bytes(of element: DataElement) -> ArraySlice<UInt8>? {
        let r = element.valueRange
        guard r.lowerBound >= 0, r.upperBound <= buffer.count else { return nil }
        return buffer[r]
    }

    /// The value bytes of the element with `tag`.
    public func bytes(_ tag: DICOMTag) -> ArraySlice<UInt8>? {
        guard let e = self[tag], !e.isSequence else { return nil }
        return bytes(of: e)
    }

    /// The items of the sequence `tag`, or nil when absent or not a sequence.
    public func sequence(_ tag: DICOMTag) -> [DataSet]? { self[tag]?.items }
}
