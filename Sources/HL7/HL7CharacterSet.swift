/// A character set an HL7 v2 message may declare in MSH-18 and that this module reads and writes.
///
/// A message with an empty MSH-18 is read and written as UTF-8 (a superset of the standard's default, ASCII).
public enum HL7CharacterSet: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// 7-bit ASCII (`ASCII`).
    case ascii = "ASCII"
    /// Unicode in UTF-8 (`UNICODE UTF-8`).
    case utf8 = "UNICODE UTF-8"
    /// The Chinese national standard GB 18030 (`GB 18030`).
    case gb18030 = "GB 18030"

    /// The character set an MSH-18 value names, or nil when it is empty or names another set.
    ///
    /// Case, spaces, hyphens and underscores are ignored, so `UNICODE UTF-8`, `UTF-8` and `utf8` all name UTF-8,
    /// and `GB 18030` and `GB18030` name GB 18030.
    public init?(declaration: String) {
        var key = ""
        for scalar in declaration.uppercased().unicodeScalars where scalar != " " && scalar != "-" && scalar != "_" {
            key.unicodeScalars.append(scalar)
        }
        switch key {
        case "ASCII", "USASCII": self = .ascii
        case "UNICODEUTF8", "UTF8": self = .utf8
        case "GB18030": self = .gb18030
        default: return nil
        }
    }

    /// The value of MSH-18 for this character set as the standard's table 0211 spells it.
    public var declaration: String { rawValue }

    /// The table 0211 spelling.
    public var description: String { rawValue }

    /// `bytes` decoded to UTF-8, or nil when they are not valid text in this character set.
    func decode(_ bytes: some Collection<UInt8>) -> [UInt8]? {
        switch self {
        case .ascii:
            return bytes.allSatisfy { $0 < 0x80 } ? Array(bytes) : nil
        case .utf8:
            let array = Array(bytes)
            return String(validating: array, as: UTF8.self) == nil ? nil : array
        case .gb18030:
            // Bytes below 0x80 are ASCII in GB 18030 and never part of a multi-byte character's first byte.
            if bytes.allSatisfy({ $0 < 0x80 }) { return Array(bytes) }
            return HL7Iconv.convert(bytes, from: "GB18030", to: "UTF-8")
        }
    }

    /// UTF-8 text encoded in this character set, or nil when it holds characters the set cannot represent.
    func encode(_ utf8: [UInt8]) -> [UInt8]? {
        switch self {
        case .ascii:
            return utf8.allSatisfy { $0 < 0x80 } ? utf8 : nil
        case .utf8:
            return utf8
        case .gb18030:
            if utf8.allSatisfy({ $0 < 0x80 }) { return utf8 }
            return HL7Iconv.convert(utf8, from: "UTF-8", to: "GB18030")
        }
    }
}
