/// A bounds-checked read position inside a byte array.
///
/// Every read checks against `end` before touching memory, so hostile input
/// can only produce a thrown `DICOMError`, never an out-of-bounds trap.
struct ByteCursor {
    let bytes: [UInt8]
    var position: Int
    /// Exclusive upper bound for reads; may be less than `bytes.count` when
    /// reading inside a defined-length item or sequence.
    let end: Int

    init(bytes: [UInt8], position: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.position = position
        self.end = min(end ?? bytes.count, bytes.count)
    }

    var remaining: Int { end > position ? end - position : 0 }
    var isAtEnd: Bool { position >= end }

    mutating func require(_ count: Int, _ what: @autoclosure () -> String) throws {
        if count > remaining { throw DICOMError.truncated(what(), at: position) }
    }

    mutating func readUInt8(_ what: @autoclosure () -> String) throws -> UInt8 {
        try require(1, what())
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readUInt16(littleEndian: Bool, _ what: @autoclosure () -> String) throws -> UInt16 {
        try require(2, what())
        defer { position += 2 }
        return ByteCursor.uint16(bytes, at: position, littleEndian: littleEndian)
    }

    mutating func readUInt32(littleEndian: Bool, _ what: @autoclosure () -> String) throws -> UInt32 {
        try require(4, what())
        defer { position += 4 }
        return ByteCursor.uint32(bytes, at: position, littleEndian: littleEndian)
    }

    mutating func readTag(littleEndian: Bool) throws -> DICOMTag {
        let group = try readUInt16(littleEndian: littleEndian, "a tag")
        let element = try readUInt16(littleEndian: littleEndian, "a tag")
        return DICOMTag(group, element)
    }

    mutating func skip(_ count: Int, _ what: @autoclosure () -> String) throws {
        try require(count, what())
        position += count
    }

    /// Callers must have checked `offset + 2 <= bytes.count`.
    static func uint16(_ b: [UInt8], at i: Int, littleEndian: Bool) -> UInt16 {
        let lo = UInt16(b[i]), hi = UInt16(b[i + 1])
        return littleEndian ? (hi << 8 | lo) : (lo << 8 | hi)
    }

    /// Callers must have checked `offset + 4 <= bytes.count`.
    static func uint32(_ b: [UInt8], at i: Int, littleEndian: Bool) -> UInt32 {
        let b0 = UInt32(b[i]), b1 = UInt32(b[i + 1]), b2 = UInt32(b[i + 2]), b3 = UInt32(b[i + 3])
        return littleEndian ? (b3 << 24 | b2 << 16 | b1 << 8 | b0) : (b0 << 24 | b1 << 16 | b2 << 8 | b3)
    }

    /// Callers must have checked `offset + 8 <= bytes.count`.
    static func uint64(_ b: [UInt8], at i: Int, littleEndian: Bool) -> UInt64 {
        let a = UInt64(uint32(b, at: i, littleEndian: littleEndian))
        let c = UInt64(uint32(b, at: i + 4, littleEndian: littleEndian))
        return littleEndian ? (c << 32 | a) : (a << 32 | c)
    }
}

/// Two upper-case hex digits, for error messages.
func hex2(_ b: UInt8) -> String {
    let s = String(b, radix: 16, uppercase: true)
    return s.count == 1 ? "0" + s : s
}

extension Array where Element == UInt8 {
    /// A slice for `range`, or nil when it is not inside the array.
    func slice(_ range: Range<Int>) -> ArraySlice<UInt8>? {
        guard range.lowerBound >= 0, range.upperBound <= count else { return nil }
        return self[range]
    }
}
