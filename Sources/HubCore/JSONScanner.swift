/// Reads JSON text token by token, for the stored documents read on hot paths (those `JSONText` writes). Strict: it
/// throws `Mismatch` at anything that is not well-formed JSON of the expected shape, including a member it does not
/// know and a key given twice (on which JSON parsers disagree), and callers then read the document with
/// `JSONDecoder`, so a document is never misread, at worst read more slowly.
public struct JSONScanner {
    public struct Mismatch: Error, CustomStringConvertible {
        public let offset: Int
        public var description: String { "unexpected JSON at byte \(offset)" }
    }

    /// A member's key, as its raw bytes (keys with escapes are refused).
    public struct Key {
        let bytes: UnsafeBufferPointer<UInt8>.SubSequence

        public static func == (key: Key, name: StaticString) -> Bool {
            name.withUTF8Buffer { key.bytes.elementsEqual($0) }
        }
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    /// The keys of the objects being read, innermost last, and where each object's keys start in it.
    private var keys: [Range<Int>] = []
    private var objects: [Int] = []

    public init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        keys.reserveCapacity(48)
        objects.reserveCapacity(8)
    }

    /// What `read` makes of the whole of `text`, or nil when anything in it is unexpected (text after the value too).
    public static func read<Value>(
        _ text: String, _ read: (inout JSONScanner) throws(Mismatch) -> Value
    ) -> Value? {
        var text = text
        return text.withUTF8 { utf8 -> Value? in
            var scanner = JSONScanner(utf8)
            do throws(Mismatch) {
                let value = try read(&scanner)
                scanner.skipWhitespace()
                guard scanner.index == utf8.count else { return nil }
                return value
            } catch {
                return nil
            }
        }
    }

    // MARK: containers

    /// An object: `member` is given each key in turn, and reads that member's value (or throws for a key it does not
    /// know).
    public mutating func object(_ member: (Key, inout JSONScanner) throws(Mismatch) -> Void) throws(Mismatch) {
        try expect(0x7B)
        objects.append(keys.count)
        while let key = try nextKey() { try member(key, &self) }
    }

    /// An array whose elements `element` reads.
    public mutating func array<Element>(
        _ element: (inout JSONScanner) throws(Mismatch) -> Element
    ) throws(Mismatch) -> [Element] {
        try expect(0x5B)
        var elements: [Element] = []
        while try nextElement(first: elements.isEmpty) { elements.append(try element(&self)) }
        return elements
    }

    /// The next member's key of the innermost object, or nil at its end.
    private mutating func nextKey() throws(Mismatch) -> Key? {
        guard let object = objects.last else { throw mismatch() }
        skipWhitespace()
        if peek() == 0x7D {
            index += 1
            keys.removeSubrange(object...)
            objects.removeLast()
            return nil
        }
        // Keys read in this object so far: none before its first member.
        if keys.count > object { try expect(0x2C) }
        skipWhitespace()
        try expect(0x22)
        let start = index
        while index < bytes.count, bytes[index] != 0x22 {
            guard bytes[index] != 0x5C, bytes[index] >= 0x20 else { throw mismatch() }
            index += 1
        }
        let key = Key(bytes: bytes[start..<index])
        let length = index - start
        for earlier in keys[object...] where earlier.count == length {
            if sameBytes(earlier.lowerBound, start, length) { throw mismatch() }
        }
        keys.append(start..<index)
        try expect(0x22)
        skipWhitespace()
        try expect(0x3A)
        return key
    }

    /// Whether another element follows (false at the end of the array, which is then consumed).
    private mutating func nextElement(first: Bool) throws(Mismatch) -> Bool {
        skipWhitespace()
        if peek() == 0x5D {
            index += 1
            return false
        }
        if !first { try expect(0x2C) }
        return true
    }

    // MARK: values

    /// Consumes `null` if it comes next.
    public mutating func null() -> Bool {
        skipWhitespace()
        guard literal("null") else { return false }
        return true
    }

    public mutating func bool() throws(Mismatch) -> Bool {
        skipWhitespace()
        if literal("true") { return true }
        if literal("false") { return false }
        throw mismatch()
    }

    /// A whole number, as `JSONDecoder` reads an `Int` (a fraction or an exponent is left to it).
    public mutating func int() throws(Mismatch) -> Int {
        skipWhitespace()
        let negative = peek() == 0x2D
        if negative { index += 1 }
        let start = index
        var value = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let digit = Int(bytes[index] - 0x30)
            let (sum, overflow2) =
                negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            guard !overflow, !overflow2 else { throw mismatch() }
            value = sum
            index += 1
        }
        let digits = index - start
        guard digits > 0, !(digits > 1 && bytes[start] == 0x30) else { throw mismatch() }
        if let next = peek(), next == 0x2E || next == 0x65 || next == 0x45 { throw mismatch() }
        return value
    }

    public mutating func string() throws(Mismatch) -> String {
        skipWhitespace()
        try expect(0x22)
        let start = index
        while index < bytes.count {
            switch bytes[index] {
            case 0x22:
                defer { index += 1 }
                return String(decoding: bytes[start..<index], as: UTF8.self)
            case 0x5C:
                return try escapedString(from: start)
            case 0..<0x20:
                throw mismatch()
            default:
                index += 1
            }
        }
        throw mismatch()
    }

    public mutating func optionalString() throws(Mismatch) -> String? {
        null() ? nil : try string()
    }

    /// A string that must be one of `Value`'s raw values (or a value `make` accepts).
    public mutating func value<Value>(_ make: (String) -> Value?) throws(Mismatch) -> Value {
        guard let value = make(try string()) else { throw mismatch() }
        return value
    }

    /// `value(make)`, or null.
    public mutating func optionalValue<Value>(_ make: (String) -> Value?) throws(Mismatch) -> Value? {
        null() ? nil : try value(make)
    }

    public func mismatch() -> Mismatch { Mismatch(offset: index) }

    // MARK: internals

    /// Whether the `length` bytes at `a` and at `b` are the same.
    private func sameBytes(_ a: Int, _ b: Int, _ length: Int) -> Bool {
        for offset in 0..<length where bytes[a + offset] != bytes[b + offset] { return false }
        return true
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            index += 1
        }
    }

    private mutating func expect(_ byte: UInt8) throws(Mismatch) {
        skipWhitespace()
        guard peek() == byte else { throw mismatch() }
        index += 1
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let matches = word.withUTF8Buffer { bytes[index..<index + count].elementsEqual($0) }
        if matches { index += count }
        return matches
    }

    /// The rest of a string that has escapes, from its first byte at `start`.
    private mutating func escapedString(from start: Int) throws(Mismatch) -> String {
        var utf8 = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case 0x22: return String(decoding: utf8, as: UTF8.self)
            case 0..<0x20: throw mismatch()
            case 0x5C:
                guard index < bytes.count else { throw mismatch() }
                let escape = bytes[index]
                index += 1
                switch escape {
                case 0x22, 0x5C, 0x2F: utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard literal("\\u") else { throw mismatch() }
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw mismatch() }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw mismatch() }
                    utf8.append(contentsOf: String(unicode).utf8)
                default: throw mismatch()
                }
            default: utf8.append(byte)
            }
        }
        throw mismatch()
    }

    private mutating func hex4() throws(Mismatch) -> UInt32 {
        guard index + 4 <= bytes.count else { throw mismatch() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: throw mismatch()
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
