/// Writes `Encodable` values as JSON in the hub's one style, to the byte what Foundation's `JSONEncoder` writes with
/// `[.sortedKeys, .withoutEscapingSlashes]`: the members of each object in the byte order of their keys' UTF-8, absent
/// optionals left out, slashes and non-ASCII characters as they are, control characters escaped (the short escapes
/// where JSON has them, `\u00xx` otherwise), floating-point numbers as Swift prints them without a trailing `.0`
/// (`1.5`, `100`, `1e-07`).
///
/// Each type's `Encodable` conformance is the one declaration of its document's shape; this encoder follows it and
/// writes straight into one buffer, with no tree of values in between, which makes it several times faster than
/// `JSONEncoder` on the documents the hub stores and answers with. Where it could not be sure of writing what
/// `JSONEncoder` writes, it gives nil and the caller encodes the value with `JSONEncoder`: a number that is not finite,
/// a key given twice, a key that needs escaping, a container nested by key or a super encoder, a value that encodes
/// nothing, a type the caller names as encoded in a way of its own (Foundation's `Data`, `URL`, `Decimal`, `Date`),
/// and any error the value throws.
public struct SortedJSONEncoder: Sendable {
    private let refused: [ObjectIdentifier]

    /// `types`: the types whose JSON form is not their `Encodable` conformance; a value that holds one gives nil.
    public init(refusing types: [any Any.Type] = []) {
        refused = types.map { ObjectIdentifier($0) }
    }

    /// The JSON text of `value`, or nil when it is left to `JSONEncoder`.
    public func encode<Value: Encodable>(_ value: Value) -> [UInt8]? {
        let writer = JSONWriter(refused: refused)
        writer.value(value)
        return writer.failed ? nil : Array(writer.bytes.written)
    }

    /// Appends the JSON text of `value` to `bytes`; false, with `bytes` as they were, when it is left to
    /// `JSONEncoder`.
    public func append<Value: Encodable>(_ value: Value, to bytes: inout [UInt8]) -> Bool {
        let writer = JSONWriter(refused: refused)
        writer.value(value)
        if !writer.failed { bytes.append(contentsOf: writer.bytes.written) }
        return !writer.failed
    }
}

/// The state of one encoding: the bytes written so far, and the values being written, innermost last. One encoding
/// runs on one thread and never holds two accesses to a property at once, so they are not checked at run time.
final class JSONWriter {
    @exclusivity(unchecked) var bytes = OutputBytes(capacity: 1024)
    /// Set at anything the encoder leaves to `JSONEncoder`; nothing more is written after it.
    @exclusivity(unchecked) var failed = false
    private let refused: [ObjectIdentifier]
    /// The values being written, innermost last; a container writes only while its value is the innermost.
    @exclusivity(unchecked) private var frames: [Frame] = []
    /// The members written so far of the objects being written, each object's after its outer object's.
    @exclusivity(unchecked) private var members: [Member] = []
    /// Where an object's members are moved while they are put in key order.
    @exclusivity(unchecked) private var scratch: [UInt8] = []

    struct Frame {
        var kind = Kind.empty
        /// Where the value starts in `bytes`.
        var start: Int
        /// Where its members start in `members`.
        var membersBase: Int
        /// The members or elements written so far.
        var count = 0
    }

    enum Kind { case empty, object, array, single }

    /// One member of an object: `bytes[start]` is its key's opening quote, `bytes[keyEnd]` the closing one, and its
    /// value ends before `end`; `prefix` is its key's first eight bytes, big-endian (zeros after a shorter key), which
    /// order most keys without reading them again.
    struct Member {
        var start: Int
        var keyEnd: Int
        var end: Int
        var prefix: UInt64
    }

    init(refused: [ObjectIdentifier]) {
        self.refused = refused
        frames.reserveCapacity(8)
        members.reserveCapacity(48)
    }

    deinit { bytes.deallocate() }

    // MARK: values

    func value<Value: Encodable>(_ value: Value) {
        guard !failed else { return }
        if Value.self == String.self { return string(unsafeBitCast(value, to: String.self)) }
        if Value.self == Int.self { return integer(unsafeBitCast(value, to: Int.self)) }
        if Value.self == Bool.self { return bool(unsafeBitCast(value, to: Bool.self)) }
        if Value.self == Double.self { return float(unsafeBitCast(value, to: Double.self)) }
        guard frames.count < 512, refused.isEmpty || !refused.contains(ObjectIdentifier(Value.self)) else {
            failed = true
            return
        }
        let frame = frames.count
        frames.append(Frame(start: bytes.count, membersBase: members.count))
        do {
            try value.encode(to: Encoding(writer: self, frame: frame))
        } catch {
            failed = true
        }
        finish()
    }

    func null() { bytes.append("null") }

    func bool(_ value: Bool) { bytes.append(value ? "true" : "false") }

    func integer<Value: FixedWidthInteger>(_ value: Value) {
        guard Value.bitWidth <= 64 else {
            failed = true
            return
        }
        if value < 0 { bytes.append(0x2D) }
        var magnitude = UInt64(truncatingIfNeeded: value.magnitude)
        var digits = 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        bytes.reserve(digits)
        var index = bytes.count + digits
        repeat {
            index -= 1
            bytes.base[index] = 0x30 + UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        bytes.count += digits
    }

    /// As `JSONEncoder` writes it: Swift's shortest form that reads back the same, less a trailing `.0`.
    func float<Value: BinaryFloatingPoint & CustomStringConvertible>(_ value: Value) {
        guard value.isFinite else {
            failed = true
            return
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        text.withUTF8 { bytes.append($0) }
    }

    func string(_ value: String) {
        bytes.append(0x22)
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
                bytes.append(UnsafeBufferPointer(rebasing: utf8[start..<index]))
                escape(byte)
                start = index + 1
            }
            bytes.append(UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(0x22)
    }

    /// The escapes `JSONEncoder` writes: the short ones where JSON has them, `\u00xx` (lower-case hex) otherwise.
    private func escape(_ byte: UInt8) {
        bytes.append(0x5C)
        switch byte {
        case 0x22: bytes.append(0x22)
        case 0x5C: bytes.append(0x5C)
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        default:
            let hex: (UInt8) -> UInt8 = { $0 < 10 ? 0x30 + $0 : 0x57 + $0 }
            bytes.append("u00")
            bytes.append(hex(byte >> 4))
            bytes.append(hex(byte & 0x0F))
        }
    }

    // MARK: containers

    /// Makes the value of `frame` an object, an array or a single value; false (and the encoding failed) when it is
    /// already another, or is not the value being written.
    func open(_ kind: Kind, _ frame: Int) -> Bool {
        guard !failed, frame == frames.count - 1 else {
            failed = true
            return false
        }
        switch (frames[frame].kind, kind) {
        case (.empty, .object): bytes.append(0x7B)
        case (.empty, .array): bytes.append(0x5B)
        case (.empty, .single): break
        case (.object, .object), (.array, .array), (.single, .single): return true
        default:
            failed = true
            return false
        }
        frames[frame].kind = kind
        return true
    }

    /// Starts a member of the object of `frame` (its key); false when nothing may be written.
    func key(_ key: String, _ frame: Int) -> Bool {
        guard !failed, frame == frames.count - 1 else {
            failed = true
            return false
        }
        if frames[frame].count > 0 { bytes.append(0x2C) }
        frames[frame].count += 1
        let start = bytes.count
        bytes.append(0x22)
        var key = key
        var prefix: UInt64 = 0
        let plain = key.withUTF8 { utf8 in
            for byte in utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C { return false }
            let head = min(utf8.count, 8)
            for index in 0..<head { prefix = prefix &<< 8 | UInt64(utf8[index]) }
            if head < 8 { prefix = prefix &<< UInt64(8 &* (8 &- head)) }
            bytes.append(utf8)
            return true
        }
        guard plain else {
            failed = true
            return false
        }
        members.append(Member(start: start, keyEnd: bytes.count, end: 0, prefix: prefix))
        bytes.append(0x22)
        bytes.append(0x3A)
        return true
    }

    /// Ends the member started last.
    func endMember() {
        members[members.count - 1].end = bytes.count
    }

    /// Starts an element of the array of `frame`; false when nothing may be written.
    func element(_ frame: Int) -> Bool {
        guard !failed, frame == frames.count - 1 else {
            failed = true
            return false
        }
        if frames[frame].count > 0 { bytes.append(0x2C) }
        frames[frame].count += 1
        return true
    }

    /// Starts the single value of `frame`; false when nothing may be written (or it was written already).
    func single(_ frame: Int) -> Bool {
        guard !failed, frame == frames.count - 1, frames[frame].count == 0 else {
            failed = true
            return false
        }
        frames[frame].count = 1
        return true
    }

    /// Ends the innermost value: closes its object (members put in key order) or array.
    private func finish() {
        let frame = frames.removeLast()
        switch frame.kind {
        case .empty:
            failed = true
        case .single:
            if frame.count != 1 { failed = true }
        case .array:
            bytes.append(0x5D)
        case .object:
            if !failed { order(frame) }
            members.removeSubrange(frame.membersBase...)
            bytes.append(0x7D)
        }
    }

    /// Puts the members of the object of `frame` in the byte order of their keys, as `JSONEncoder`'s `.sortedKeys`.
    private func order(_ frame: Frame) {
        let base = frame.membersBase
        let count = members.count
        guard count - base > 1 else { return }
        var ordered = true
        for index in base + 1..<count {
            let order = compareKeys(members[index - 1], members[index])
            if order == 0 {
                failed = true
                return
            }
            if order > 0 { ordered = false }
        }
        if ordered { return }
        // Insertion sort: objects have a few dozen members at most.
        for index in base + 1..<count {
            let member = members[index]
            var slot = index
            while slot > base {
                let order = compareKeys(members[slot - 1], member)
                if order == 0 {
                    failed = true
                    return
                }
                if order < 0 { break }
                members[slot] = members[slot - 1]
                slot -= 1
            }
            members[slot] = member
        }
        let contents = frame.start + 1
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(start: bytes.base + contents, count: bytes.count - contents))
        bytes.count = contents
        scratch.withUnsafeBufferPointer { scratch in
            for index in base..<count {
                if index > base { bytes.append(0x2C) }
                let member = members[index]
                bytes.append(
                    UnsafeBufferPointer(rebasing: scratch[(member.start - contents)..<(member.end - contents)]))
            }
        }
    }

    /// The order of two members' keys, by their UTF-8 bytes: negative, zero (the same key) or positive.
    private func compareKeys(_ a: Member, _ b: Member) -> Int {
        if a.prefix != b.prefix { return a.prefix < b.prefix ? -1 : 1 }
        let aLength = a.keyEnd - a.start - 1
        let bLength = b.keyEnd - b.start - 1
        if aLength <= 8 || bLength <= 8 { return aLength - bLength }
        for offset in 8..<min(aLength, bLength) {
            let x = bytes.base[a.start + 1 + offset]
            let y = bytes.base[b.start + 1 + offset]
            if x != y { return Int(x) - Int(y) }
        }
        return aLength - bLength
    }
}

/// The bytes written, at the end of a buffer that doubles when full: appending is a bounds check and a copy.
struct OutputBytes {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    var count = 0

    init(capacity: Int) {
        base = .allocate(capacity: capacity)
        self.capacity = capacity
    }

    func deallocate() { base.deallocate() }

    var written: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    private mutating func grow(_ needed: Int) {
        let grown = max(needed, capacity * 2)
        let new = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        new.update(from: base, count: count)
        base.deallocate()
        base = new
        capacity = grown
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }
}

/// The `Encoder` a value is given: it writes into the shared writer, as the value at `frame`.
private struct Encoding: Encoder {
    let writer: JSONWriter
    let frame: Int

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedContainer<Key>(writer: writer, frame: writer.open(.object, frame) ? frame : -1))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedContainer(writer: writer, frame: writer.open(.array, frame) ? frame : -1)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(writer: writer, frame: writer.open(.single, frame) ? frame : -1)
    }
}

/// What the encoder leaves to `JSONEncoder` (nested containers, super encoders) is given a frame that never writes.
private let nowhere = -1

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: JSONWriter
    let frame: Int

    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws {
        guard writer.key(key.stringValue, frame) else { return }
        writer.null()
        writer.endMember()
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        guard writer.key(key.stringValue, frame) else { return }
        writer.bool(value)
        writer.endMember()
    }

    mutating func encode(_ value: String, forKey key: Key) throws {
        guard writer.key(key.stringValue, frame) else { return }
        writer.string(value)
        writer.endMember()
    }

    mutating func encode(_ value: Double, forKey key: Key) throws { try number(value, key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try number(value, key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try integer(value, key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        guard writer.key(key.stringValue, frame) else { return }
        writer.value(value)
        writer.endMember()
    }

    private func integer<T: FixedWidthInteger>(_ value: T, _ key: Key) throws {
        guard writer.key(key.stringValue, frame) else { return }
        writer.integer(value)
        writer.endMember()
    }

    private func number<T: BinaryFloatingPoint & CustomStringConvertible>(_ value: T, _ key: Key) throws {
        guard writer.key(key.stringValue, frame) else { return }
        writer.float(value)
        writer.endMember()
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        writer.failed = true
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(writer: writer, frame: nowhere))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        writer.failed = true
        return UnkeyedContainer(writer: writer, frame: nowhere)
    }

    mutating func superEncoder() -> any Encoder {
        writer.failed = true
        return Encoding(writer: writer, frame: nowhere)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        writer.failed = true
        return Encoding(writer: writer, frame: nowhere)
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let writer: JSONWriter
    let frame: Int
    private(set) var count = 0

    init(writer: JSONWriter, frame: Int) {
        self.writer = writer
        self.frame = frame
    }

    var codingPath: [any CodingKey] { [] }

    /// Starts the next element; false when nothing may be written.
    private mutating func next() -> Bool {
        guard writer.element(frame) else { return false }
        count += 1
        return true
    }

    mutating func encodeNil() throws { if next() { writer.null() } }
    mutating func encode(_ value: Bool) throws { if next() { writer.bool(value) } }
    mutating func encode(_ value: String) throws { if next() { writer.string(value) } }
    mutating func encode(_ value: Double) throws { if next() { writer.float(value) } }
    mutating func encode(_ value: Float) throws { if next() { writer.float(value) } }
    mutating func encode(_ value: Int) throws { if next() { writer.integer(value) } }
    mutating func encode(_ value: Int8) throws { if next() { writer.integer(value) } }
    mutating func encode(_ value: Int16) throws { if next() { writer.integer(value) } }
    mutating func encode(_ value: Int32) throws { if next() { writer.integer(value) } }
    mutating func encode(_ value: Int64) throws { if next() { writer.integer(value) } }
    mutating func encode(_ value: UInt) throws { if next() { writer.integer(value) } }
    mutating func encode(_ value: UInt8) throws { if next() { writer.integer(value) } }
    mutating func encode(_ value: UInt16) throws { if next() { writer.integer(value) } }
    mutating func encode(_ value: UInt32) throws { if next() { writer.integer(value) } }
    mutating func encode(_ value: UInt64) throws { if next() { writer.integer(value) } }
    mutating func encode<T: Encodable>(_ value: T) throws { if next() { writer.value(value) } }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        writer.failed = true
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(writer: writer, frame: nowhere))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        writer.failed = true
        return UnkeyedContainer(writer: writer, frame: nowhere)
    }

    mutating func superEncoder() -> any Encoder {
        writer.failed = true
        return Encoding(writer: writer, frame: nowhere)
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let writer: JSONWriter
    let frame: Int

    var codingPath: [any CodingKey] { [] }

    private func write(_ write: () -> Void) {
        guard writer.single(frame) else { return }
        write()
    }

    mutating func encodeNil() throws { write { writer.null() } }
    mutating func encode(_ value: Bool) throws { write { writer.bool(value) } }
    mutating func encode(_ value: String) throws { write { writer.string(value) } }
    mutating func encode(_ value: Double) throws { write { writer.float(value) } }
    mutating func encode(_ value: Float) throws { write { writer.float(value) } }
    mutating func encode(_ value: Int) throws { write { writer.integer(value) } }
    mutating func encode(_ value: Int8) throws { write { writer.integer(value) } }
    mutating func encode(_ value: Int16) throws { write { writer.integer(value) } }
    mutating func encode(_ value: Int32) throws { write { writer.integer(value) } }
    mutating func encode(_ value: Int64) throws { write { writer.integer(value) } }
    mutating func encode(_ value: UInt) throws { write { writer.integer(value) } }
    mutating func encode(_ value: UInt8) throws { write { writer.integer(value) } }
    mutating func encode(_ value: UInt16) throws { write { writer.integer(value) } }
    mutating func encode(_ value: UInt32) throws { write { writer.integer(value) } }
    mutating func encode(_ value: UInt64) throws { write { writer.integer(value) } }
    mutating func encode<T: Encodable>(_ value: T) throws { write { writer.value(value) } }
}
