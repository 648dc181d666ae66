/// Reads `Decodable` values from JSON text, following each type's `Decodable` conformance (the one declaration of its
/// document's shape), straight from the bytes: several times faster than `JSONDecoder` on the documents the hub reads
/// back on hot paths.
///
/// Strict: it gives nil, and the caller reads the text with `JSONDecoder`, wherever it could not be sure of reading
/// what `JSONDecoder` reads. That is at anything that is not well-formed JSON (in UTF-8, nested at most 512 deep), at
/// a member the type does not read (from another version of the hub, say) and at a key given twice (on which JSON
/// parsers disagree), at a key written with escapes, at a number that is not what the type asks for (a whole number
/// with a fraction or an exponent, one out of range, a `Float`), at a type the caller names as decoded in a way of its
/// own (Foundation's `Data`, `URL`, `Decimal`, `Date`), and at any error, whether the decoder or the type threw it
/// and whether the type caught it or not. So a document is never misread, at worst read more slowly.
public struct StrictJSONDecoder: Sendable {
    private let refused: [ObjectIdentifier]

    /// `types`: the types whose JSON form is not their `Decodable` conformance; a value that holds one gives nil.
    public init(refusing types: [any Any.Type] = []) {
        refused = types.map { ObjectIdentifier($0) }
    }

    /// The value the whole of `text` holds, or nil when it is left to `JSONDecoder`.
    public func decode<Value: Decodable>(_ type: Value.Type, from text: String) -> Value? {
        var text = text
        return text.withUTF8 { decode(type, from: $0) }
    }

    /// The value the whole of `utf8` holds, or nil when it is left to `JSONDecoder`.
    public func decode<Value: Decodable>(_ type: Value.Type, from utf8: UnsafeBufferPointer<UInt8>) -> Value? {
        let reader = JSONReader(utf8, refused: refused)
        var index = 0
        guard reader.validate(&index, depth: 0) else { return nil }
        reader.skipWhitespace(&index)
        guard index == utf8.count else { return nil }
        var start = 0
        reader.skipWhitespace(&start)
        guard let value = try? reader.value(Value.self, at: start), !reader.failed, reader.everyMemberRead else {
            return nil
        }
        return value
    }
}

/// The state of one decoding: the text, already checked to be well-formed, and the members of the objects read. One
/// decoding runs on one thread and never holds two accesses to a property at once, so they are not checked at run
/// time.
final class JSONReader {
    struct Refused: Error {}

    let bytes: UnsafeBufferPointer<UInt8>
    private let refused: [ObjectIdentifier]
    /// Set at anything the decoder leaves to `JSONDecoder`, even when the type caught the error.
    @exclusivity(unchecked) private(set) var failed = false
    /// The members of every object read so far, each object's together.
    @exclusivity(unchecked) private var members: [Member] = []

    /// A member: its key's bytes (and their first eight, big-endian, to tell most keys apart without reading them
    /// again), where its value starts, and whether the type read it.
    struct Member {
        var keyStart: Int
        var keyEnd: Int
        var prefix: UInt64
        var value: Int
        var read = false
    }

    /// The first eight bytes of a key, big-endian, zeros after a shorter one.
    static func prefix(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var prefix: UInt64 = 0
        let head = min(key.count, 8)
        for index in 0..<head { prefix = prefix &<< 8 | UInt64(key[index]) }
        return head < 8 ? prefix &<< UInt64(8 &* (8 &- head)) : prefix
    }

    init(_ bytes: UnsafeBufferPointer<UInt8>, refused: [ObjectIdentifier]) {
        self.bytes = bytes
        self.refused = refused
        members.reserveCapacity(64)
    }

    var everyMemberRead: Bool { members.allSatisfy(\.read) }

    /// Marks the decoding as left to `JSONDecoder`, and gives the error to throw.
    func refuse() -> Refused {
        failed = true
        return Refused()
    }

    // MARK: values

    func value<Value: Decodable>(_ type: Value.Type, at index: Int) throws -> Value {
        if Value.self == String.self { return unsafeBitCast(try string(at: index), to: Value.self) }
        if Value.self == Int.self { return unsafeBitCast(try integer(Int.self, at: index), to: Value.self) }
        if Value.self == Bool.self { return unsafeBitCast(try bool(at: index), to: Value.self) }
        if Value.self == Double.self { return unsafeBitCast(try double(at: index), to: Value.self) }
        guard Value.self != Float.self, refused.isEmpty || !refused.contains(ObjectIdentifier(Value.self)) else {
            throw refuse()
        }
        do {
            return try Value(from: Decoding(reader: self, index: index))
        } catch {
            failed = true
            throw error
        }
    }

    func isNull(at index: Int) -> Bool { bytes[index] == 0x6E }

    func bool(at index: Int) throws -> Bool {
        switch bytes[index] {
        case 0x74: return true
        case 0x66: return false
        default: throw refuse()
        }
    }

    /// A whole number, as `JSONDecoder` reads one of `Value` (a fraction or an exponent is left to it).
    func integer<Value: FixedWidthInteger>(_ type: Value.Type, at start: Int) throws -> Value {
        var index = start
        let negative = bytes[index] == 0x2D
        if negative {
            guard Value.isSigned else { throw refuse() }
            index += 1
        }
        var value: Value = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            let digit = Value(bytes[index] - 0x30)
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) =
                negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            guard !overflow, !overflow2 else { throw refuse() }
            value = sum
            index += 1
        }
        guard index > start + (negative ? 1 : 0) else { throw refuse() }
        if index < bytes.count, bytes[index] == 0x2E || bytes[index] == 0x65 || bytes[index] == 0x45 {
            throw refuse()
        }
        return value
    }

    func double(at start: Int) throws -> Double {
        let first = bytes[start]
        guard first == 0x2D || (first >= 0x30 && first <= 0x39) else { throw refuse() }
        let end = skip(from: start)
        guard let value = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)),
            value.isFinite
        else { throw refuse() }
        return value
    }

    func string(at start: Int) throws -> String {
        guard bytes[start] == 0x22 else { throw refuse() }
        var index = start + 1
        while bytes[index] != 0x22 {
            if bytes[index] == 0x5C { return escapedString(from: start + 1) }
            index += 1
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[(start + 1)..<index]), as: UTF8.self)
    }

    /// A string with escapes, from its first byte after the quote (escapes already checked).
    private func escapedString(from start: Int) -> String {
        var utf8: [UInt8] = []
        var index = start
        while true {
            let byte = bytes[index]
            index += 1
            switch byte {
            case 0x22:
                return String(decoding: utf8, as: UTF8.self)
            case 0x5C:
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = validHex4(at: index)!
                    index += 4
                    if (0xD800..<0xDC00).contains(scalar) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (validHex4(at: index + 2)! - 0xDC00)
                        index += 6
                    }
                    utf8.append(contentsOf: String(Unicode.Scalar(scalar)!).utf8)
                default: utf8.append(escape)
                }
            default:
                utf8.append(byte)
            }
        }
    }

    // MARK: containers

    /// The members of the object at `start`, as a range of `members`; a key given twice, or written with escapes,
    /// is refused.
    func object(at start: Int) throws -> Range<Int> {
        guard bytes[start] == 0x7B else { throw refuse() }
        let base = members.count
        var index = start + 1
        skipWhitespace(&index)
        if bytes[index] == 0x7D { return base..<base }
        while true {
            skipWhitespace(&index)
            let keyStart = index + 1
            index = keyStart
            while bytes[index] != 0x22 {
                guard bytes[index] != 0x5C else { throw refuse() }
                index += 1
            }
            let keyEnd = index
            let prefix = Self.prefix(UnsafeBufferPointer(rebasing: bytes[keyStart..<keyEnd]))
            for earlier in members[base...]
            where earlier.prefix == prefix && earlier.keyEnd - earlier.keyStart == keyEnd - keyStart {
                if sameBytes(earlier.keyStart, keyStart, keyEnd - keyStart) { throw refuse() }
            }
            index += 1
            skipWhitespace(&index)
            index += 1  // the colon
            skipWhitespace(&index)
            members.append(Member(keyStart: keyStart, keyEnd: keyEnd, prefix: prefix, value: index))
            index = skip(from: index)
            skipWhitespace(&index)
            let separator = bytes[index]
            index += 1
            if separator == 0x7D { return base..<members.count }
        }
    }

    /// The member of `object` whose key is `key`, if there is one.
    func member(_ key: String, in object: Range<Int>) -> Int? {
        var key = key
        return key.withUTF8 { key in
            let prefix = Self.prefix(key)
            for index in object {
                let member = members[index]
                guard member.prefix == prefix, member.keyEnd - member.keyStart == key.count else { continue }
                var same = true
                for offset in 8..<max(key.count, 8) where bytes[member.keyStart + offset] != key[offset] {
                    same = false
                    break
                }
                if same { return index }
            }
            return nil
        }
    }

    /// Where the value of `key` in `object` starts, now read; refused when the object has no such member.
    func read(_ key: String, in object: Range<Int>) throws -> Int {
        guard let value = readIfPresent(key, in: object) else { throw refuse() }
        return value
    }

    /// Where the value of `key` in `object` starts, now read, or nil when the object has no such member.
    func readIfPresent(_ key: String, in object: Range<Int>) -> Int? {
        guard let index = member(key, in: object) else { return nil }
        members[index].read = true
        return members[index].value
    }

    func keys(in object: Range<Int>) -> [String] {
        object.map {
            String(
                decoding: UnsafeBufferPointer(rebasing: bytes[members[$0].keyStart..<members[$0].keyEnd]),
                as: UTF8.self)
        }
    }

    /// The first element of the array at `start`, or its end (the closing bracket).
    func firstElement(at start: Int) throws -> Int {
        guard bytes[start] == 0x5B else { throw refuse() }
        var index = start + 1
        skipWhitespace(&index)
        return index
    }

    /// The element after the one at `index`, or the array's end.
    func nextElement(after index: Int) -> Int {
        var index = skip(from: index)
        skipWhitespace(&index)
        if bytes[index] == 0x2C {
            index += 1
            skipWhitespace(&index)
        }
        return index
    }

    func isEnd(_ index: Int) -> Bool { bytes[index] == 0x5D }

    // MARK: the text

    private func sameBytes(_ a: Int, _ b: Int, _ length: Int) -> Bool {
        for offset in 0..<length where bytes[a + offset] != bytes[b + offset] { return false }
        return true
    }

    func skipWhitespace(_ index: inout Int) {
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            index += 1
        }
    }

    /// The end of the (well-formed) value at `start`.
    func skip(from start: Int) -> Int {
        var index = start
        var depth = 0
        repeat {
            switch bytes[index] {
            case 0x22:
                index += 1
                while true {
                    let byte = bytes[index]
                    if byte == 0x22 { break }
                    index += byte == 0x5C ? 2 : 1
                }
                index += 1
            case 0x7B, 0x5B:
                depth += 1
                index += 1
            case 0x7D, 0x5D:
                depth -= 1
                index += 1
            default:
                index += 1
                if depth == 0 {
                    while index < bytes.count {
                        switch bytes[index] {
                        case 0x2C, 0x7D, 0x5D, 0x20, 0x0A, 0x0D, 0x09: return index
                        default: index += 1
                        }
                    }
                    return index
                }
            }
        } while depth > 0
        return index
    }

    /// Whether the text from `index` on starts with one well-formed JSON value (RFC 8259, in UTF-8, nested at most
    /// 512 deep); `index` is moved past it.
    func validate(_ index: inout Int, depth: Int) -> Bool {
        skipWhitespace(&index)
        guard index < bytes.count, depth < 512 else { return false }
        switch bytes[index] {
        case 0x7B, 0x5B:
            // An object's members are keys and values, an array's elements values.
            let close: UInt8 = bytes[index] == 0x7B ? 0x7D : 0x5D
            index += 1
            skipWhitespace(&index)
            if index < bytes.count, bytes[index] == close {
                index += 1
                return true
            }
            while true {
                if close == 0x7D {
                    skipWhitespace(&index)
                    guard index < bytes.count, bytes[index] == 0x22, validateString(&index) else { return false }
                    skipWhitespace(&index)
                    guard index < bytes.count, bytes[index] == 0x3A else { return false }
                    index += 1
                }
                guard validate(&index, depth: depth + 1) else { return false }
                skipWhitespace(&index)
                guard index < bytes.count else { return false }
                index += 1
                if bytes[index - 1] == close { return true }
                guard bytes[index - 1] == 0x2C else { return false }
            }
        case 0x22:
            return validateString(&index)
        case 0x74:
            return literal("true", &index)
        case 0x66:
            return literal("false", &index)
        case 0x6E:
            return literal("null", &index)
        default:
            return validateNumber(&index)
        }
    }

    private func literal(_ word: StaticString, _ index: inout Int) -> Bool {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count,
            word.withUTF8Buffer({ bytes[index..<index + count].elementsEqual($0) })
        else { return false }
        index += count
        return true
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private func validateNumber(_ index: inout Int) -> Bool {
        func digits(_ index: inout Int) -> Int {
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            return index - start
        }
        if index < bytes.count, bytes[index] == 0x2D { index += 1 }
        let start = index
        let whole = digits(&index)
        guard whole > 0, whole == 1 || bytes[start] != 0x30 else { return false }
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            guard digits(&index) > 0 else { return false }
        }
        if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
            index += 1
            if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
            guard digits(&index) > 0 else { return false }
        }
        return true
    }

    /// A string at `index` (its opening quote): no control characters, known escapes, paired surrogates, UTF-8.
    private func validateString(_ index: inout Int) -> Bool {
        index += 1
        while index < bytes.count {
            // Plain ASCII, the most of any text, in a loop of its own.
            var plain = index
            let bytes = self.bytes
            while plain < bytes.count {
                let byte = bytes[plain]
                guard byte >= 0x20, byte < 0x80, byte != 0x22, byte != 0x5C else { break }
                plain &+= 1
            }
            index = plain
            guard index < bytes.count else { return false }
            let byte = bytes[index]
            switch byte {
            case 0x22:
                index += 1
                return true
            case 0..<0x20:
                return false
            case 0x5C:
                guard index + 1 < bytes.count else { return false }
                let escape = bytes[index + 1]
                index += 2
                switch escape {
                case 0x22, 0x5C, 0x2F, UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"),
                    UInt8(ascii: "t"):
                    continue
                case UInt8(ascii: "u"):
                    guard let scalar = validHex4(at: index) else { return false }
                    index += 4
                    if (0xDC00..<0xE000).contains(scalar) { return false }
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard index + 6 <= bytes.count, bytes[index] == 0x5C, bytes[index + 1] == UInt8(ascii: "u"),
                            let low = validHex4(at: index + 2), (0xDC00..<0xE000).contains(low)
                        else { return false }
                        index += 6
                    }
                default:
                    return false
                }
            case 0x80...:
                guard validateScalar(&index) else { return false }
            default:
                index += 1
            }
        }
        return false
    }

    private func validHex4(at index: Int) -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// One UTF-8 sequence of two to four bytes at `index` (shortest form, no surrogates, at most U+10FFFF).
    private func validateScalar(_ index: inout Int) -> Bool {
        let lead = bytes[index]
        let count: Int
        var scalar: UInt32
        switch lead {
        case 0xC2...0xDF: (count, scalar) = (2, UInt32(lead & 0x1F))
        case 0xE0...0xEF: (count, scalar) = (3, UInt32(lead & 0x0F))
        case 0xF0...0xF4: (count, scalar) = (4, UInt32(lead & 0x07))
        default: return false
        }
        guard index + count <= bytes.count else { return false }
        for offset in 1..<count {
            let byte = bytes[index + offset]
            guard byte & 0xC0 == 0x80 else { return false }
            scalar = scalar << 6 | UInt32(byte & 0x3F)
        }
        switch count {
        case 3: guard scalar >= 0x800, !(0xD800..<0xE000).contains(scalar) else { return false }
        case 4: guard scalar >= 0x10000, scalar <= 0x10FFFF else { return false }
        default: break
        }
        index += count
        return true
    }
}

/// The `Decoder` a value is given: the shared reader, and where the value starts.
private struct Decoding: Decoder {
    let reader: JSONReader
    let index: Int

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(KeyedContainer<Key>(reader: reader, members: try reader.object(at: index)))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        UnkeyedContainer(reader: reader, start: index, index: try reader.firstElement(at: index))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(reader: reader, index: index)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let reader: JSONReader
    let members: Range<Int>

    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { reader.keys(in: members).compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { reader.member(key.stringValue, in: members) != nil }

    private func at(_ key: Key) throws -> Int { try reader.read(key.stringValue, in: members) }

    /// Where the value of `key` starts, or nil when it is absent or null (as `decodeIfPresent` reads it).
    private func present(_ key: Key) -> Int? {
        guard let index = reader.readIfPresent(key.stringValue, in: members), !reader.isNull(at: index) else {
            return nil
        }
        return index
    }

    func decodeNil(forKey key: Key) throws -> Bool { reader.isNull(at: try at(key)) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try reader.bool(at: at(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try reader.string(at: at(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try reader.double(at: at(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { throw reader.refuse() }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try reader.integer(type, at: at(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try reader.integer(type, at: at(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try reader.integer(type, at: at(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try reader.integer(type, at: at(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try reader.integer(type, at: at(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try reader.integer(type, at: at(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try reader.integer(type, at: at(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try reader.integer(type, at: at(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try reader.integer(type, at: at(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try reader.integer(type, at: at(key)) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try reader.value(type, at: at(key)) }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try present(key).map { try reader.string(at: $0) }
    }

    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        try present(key).map { try reader.integer(type, at: $0) }
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        try present(key).map { try reader.bool(at: $0) }
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try present(key).map { try reader.value(type, at: $0) }
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try Decoding(reader: reader, index: at(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try Decoding(reader: reader, index: at(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { throw reader.refuse() }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw reader.refuse() }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let reader: JSONReader
    /// The opening bracket.
    let start: Int
    /// The next element, or the closing bracket.
    var index: Int
    private(set) var currentIndex = 0

    init(reader: JSONReader, start: Int, index: Int) {
        self.reader = reader
        self.start = start
        self.index = index
    }

    var codingPath: [any CodingKey] { [] }
    var isAtEnd: Bool { reader.isEnd(index) }

    var count: Int? {
        var count = 0
        var element = (try? reader.firstElement(at: start)) ?? start
        while !reader.isEnd(element) {
            count += 1
            element = reader.nextElement(after: element)
        }
        return count
    }

    /// Reads the next element with `read`, and moves past it.
    private mutating func next<T>(_ read: (Int) throws -> T) throws -> T {
        guard !isAtEnd else { throw reader.refuse() }
        let value = try read(index)
        index = reader.nextElement(after: index)
        currentIndex += 1
        return value
    }

    private mutating func nextInteger<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        try next { [reader] in try reader.integer(type, at: $0) }
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw reader.refuse() }
        guard reader.isNull(at: index) else { return false }
        index = reader.nextElement(after: index)
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next { [reader] in try reader.bool(at: $0) } }
    mutating func decode(_ type: String.Type) throws -> String { try next { [reader] in try reader.string(at: $0) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next { [reader] in try reader.double(at: $0) } }
    mutating func decode(_ type: Float.Type) throws -> Float { throw reader.refuse() }
    mutating func decode(_ type: Int.Type) throws -> Int { try nextInteger(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try nextInteger(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try nextInteger(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try nextInteger(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try nextInteger(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try nextInteger(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try nextInteger(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try nextInteger(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try nextInteger(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try nextInteger(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next { [reader] in try reader.value(type, at: $0) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try next { [reader] in try Decoding(reader: reader, index: $0).container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next { [reader] in try Decoding(reader: reader, index: $0).unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder { throw reader.refuse() }
}

private struct SingleValueContainer: SingleValueDecodingContainer {
    let reader: JSONReader
    let index: Int

    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { reader.isNull(at: index) }
    func decode(_ type: Bool.Type) throws -> Bool { try reader.bool(at: index) }
    func decode(_ type: String.Type) throws -> String { try reader.string(at: index) }
    func decode(_ type: Double.Type) throws -> Double { try reader.double(at: index) }
    func decode(_ type: Float.Type) throws -> Float { throw reader.refuse() }
    func decode(_ type: Int.Type) throws -> Int { try reader.integer(type, at: index) }
    func decode(_ type: Int8.Type) throws -> Int8 { try reader.integer(type, at: index) }
    func decode(_ type: Int16.Type) throws -> Int16 { try reader.integer(type, at: index) }
    func decode(_ type: Int32.Type) throws -> Int32 { try reader.integer(type, at: index) }
    func decode(_ type: Int64.Type) throws -> Int64 { try reader.integer(type, at: index) }
    func decode(_ type: UInt.Type) throws -> UInt { try reader.integer(type, at: index) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try reader.integer(type, at: index) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try reader.integer(type, at: index) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try reader.integer(type, at: index) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try reader.integer(type, at: index) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try reader.value(type, at: index) }
}
