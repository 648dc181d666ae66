/// A value that writes itself into `JSONText`: a stored document, or an object inside one.
public protocol JSONWritable {
    func write(to json: inout JSONText)
}

extension JSONWritable {
    /// The value as `HubJSON` encodes it.
    public var jsonDocument: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// The value as `HubJSON` encodes it, as UTF-8.
    @inlinable
    public var jsonBytes: [UInt8] {
        var json = JSONText(capacity: 1024)
        write(to: &json)
        return json.bytes
    }
}

/// JSON text written member by member, in the hub's one style (that of `HubJSON`): keys in byte order, absent
/// optionals left out, slashes and non-ASCII characters as they are, control characters escaped. For the documents
/// written on hot paths, where `JSONEncoder`'s intermediate tree costs more than the rest of the request; the writer
/// calling it lists the keys in order, and a test compares its bytes with `JSONEncoder`'s.
public struct JSONText: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Whether the next member or element is its container's first (no comma before it).
    private var first = true

    public init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    // MARK: containers

    public mutating func object(_ members: (inout JSONText) -> Void) {
        open(0x7B)
        members(&self)
        close(0x7D)
    }

    public mutating func array(_ elements: (inout JSONText) -> Void) {
        open(0x5B)
        elements(&self)
        close(0x5D)
    }

    /// A member's key; its value is written next. Keys must come in byte order, as `JSONEncoder`'s `.sortedKeys`.
    public mutating func key(_ key: StaticString) {
        separate()
        bytes.append(0x22)
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(0x22)
        bytes.append(0x3A)
        first = true
    }

    /// Ends a line of newline-delimited JSON: the next value starts a new document.
    public mutating func newline() {
        bytes.append(0x0A)
        first = true
    }

    // MARK: values

    public mutating func string(_ value: String) {
        separate()
        bytes.append(0x22)
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                escape(byte)
                start = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(0x22)
        first = false
    }

    public mutating func int(_ value: Int) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
        first = false
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
        first = false
    }

    // MARK: optional members, left out when absent

    public mutating func member(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        self.key(key)
        string(value)
    }

    public mutating func member(_ key: StaticString, _ value: Int?) {
        guard let value else { return }
        self.key(key)
        int(value)
    }

    public mutating func member<Value: RawRepresentable<String>>(_ key: StaticString, _ value: Value?) {
        member(key, value?.rawValue)
    }

    @inlinable
    public mutating func member(_ key: StaticString, _ value: (some JSONWritable)?) {
        guard let value else { return }
        self.key(key)
        value.write(to: &self)
    }

    /// An amount as `Money` encodes it: yuan, as a JSON number with no more decimals than it needs.
    public mutating func member(_ key: StaticString, _ value: Money?) {
        guard let value else { return }
        self.key(key)
        let fen = value.fen.magnitude
        if value.fen < 0 { bytes.append(0x2D) }
        bytes.append(contentsOf: String(fen / 100).utf8)
        let cents = Int(fen % 100)
        if cents != 0 {
            bytes.append(0x2E)
            bytes.append(UInt8(ascii: "0") + UInt8(cents / 10))
            if cents % 10 != 0 { bytes.append(UInt8(ascii: "0") + UInt8(cents % 10)) }
        }
        first = false
    }

    /// A value written as its description (timestamps, dates).
    public mutating func member(_ key: StaticString, described value: (some CustomStringConvertible)?) {
        guard let value else { return }
        self.key(key)
        string(value.description)
    }

    // MARK: members always written

    public mutating func member(_ key: StaticString, _ value: Bool) {
        self.key(key)
        bool(value)
    }

    public mutating func member(_ key: StaticString, _ strings: [String]) {
        self.key(key)
        array { for string in strings { $0.string(string) } }
    }

    @inlinable
    public mutating func member(_ key: StaticString, _ values: [some JSONWritable]) {
        self.key(key)
        array { for value in values { value.write(to: &$0) } }
    }

    // MARK: internals

    private mutating func separate() {
        if !first { bytes.append(0x2C) }
    }

    private mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        first = true
    }

    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        first = false
    }

    /// The escapes `JSONEncoder` writes: the short ones where JSON has them, `\u00xx` (lower-case hex) otherwise.
    private mutating func escape(_ byte: UInt8) {
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
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
        }
    }
}
