/// The Specific Character Set (0008,0005) in effect for a dataset, and the
/// rules for turning its text bytes into Swift strings.
public struct SpecificCharacterSet: Sendable, Equatable, Codable {
    /// Defined terms as written, trimmed (e.g. `["", "ISO 2022 IR 58"]`).
    /// Empty when (0008,0005) is absent.
    public let terms: [String]
    /// Encoding tried for non-ASCII text when no character set is declared.
    public let fallback: String

    public init(terms: [String], fallback: String = DICOMParseOptions.default.fallbackCharacterSet) {
        self.terms = terms
        self.fallback = fallback
    }

    /// Parses the raw value of (0008,0005).
    init(encodedValue: ArraySlice<UInt8>, fallback: String) {
        let text = String(decoding: encodedValue, as: UTF8.self)
        let terms = text.split(separator: "\\", omittingEmptySubsequences: false).map {
            $0.trimming(" \0")
        }
        self.init(terms: terms, fallback: fallback)
    }

    /// The default repertoire (ISO IR 6) with the library's default fallback.
    public static let `default` = SpecificCharacterSet(terms: [])

    /// True when code extension (ISO 2022 escape sequences) is in use.
    var usesCodeExtensions: Bool {
        terms.count > 1 || (terms.first.map { Self.normalize($0).hasPrefix("ISO 2022") } ?? false)
    }

    /// Decodes the bytes of a string value of type `vr`.
    public func decode(_ bytes: some Collection<UInt8>, vr: VR) -> String {
        let raw = Array(bytes)
        if raw.allSatisfy({ $0 < 0x80 && $0 != 0x1B }) {
            return String(decoding: raw, as: UTF8.self)
        }
        // Non-text VRs (UI, CS, DA, ...) are ASCII by definition; decode leniently.
        guard vr.usesSpecificCharacterSet else { return Self.decodeUndeclared(raw, fallback: fallback) }
        if usesCodeExtensions {
            return ISO2022Decoder(terms: terms, fallback: fallback).decode(raw, vr: vr)
        }
        return Self.decodeSingle(raw, term: terms.first ?? "", fallback: fallback)
    }

    /// Uppercases and unifies separators, since writers vary (`ISO_IR 192`,
    /// `ISO-IR 192`, `iso_ir 192`).
    static func normalize(_ term: String) -> String {
        String(term.uppercased().map { $0 == "_" || $0 == "-" ? " " : $0 })
    }

    /// The iconv name for a single-byte or non-ISO-2022 defined term, or nil
    /// for the default repertoire / unknown terms.
    static func iconvName(forTerm term: String) -> String? {
        var key = normalize(term)
        if key.hasPrefix("ISO 2022 ") { key = "ISO " + key.dropFirst(9) }
        switch key {
        case "ISO IR 100": return "ISO-8859-1"
        case "ISO IR 101": return "ISO-8859-2"
        case "ISO IR 109": return "ISO-8859-3"
        case "ISO IR 110": return "ISO-8859-4"
        case "ISO IR 144": return "ISO-8859-5"
        case "ISO IR 127": return "ISO-8859-6"
        case "ISO IR 126": return "ISO-8859-7"
        case "ISO IR 138": return "ISO-8859-8"
        case "ISO IR 148": return "ISO-8859-9"
        case "ISO IR 203": return "ISO-8859-15"
        case "ISO IR 166": return "TIS-620"
        case "ISO IR 13": return "JIS_X0201"
        case "ISO IR 192": return "UTF-8"
        case "GB18030": return "GB18030"
        case "GBK": return "GBK"
        case "ISO IR 58": return "GB2312"
        case "ISO IR 149": return "EUC-KR"
        case "ISO IR 87", "ISO IR 159": return "EUC-JP"
        default: return nil
        }
    }

    static func decodeSingle(_ raw: [UInt8], term: String, fallback: String) -> String {
        switch iconvName(forTerm: term) {
        case nil:
            return decodeUndeclared(raw, fallback: fallback)
        case "UTF-8":
            return String(decoding: raw, as: UTF8.self)
        case "ISO-8859-1":
            return latin1(raw)
        case "JIS_X0201":
            // glibc has no JIS X 0201 katakana converter; the ISO 2022 decoder maps it directly.
            return ISO2022Decoder(terms: [term], fallback: fallback).decode(raw, vr: .LO)
        case let name?:
            return Iconv.decode(raw, from: name) ?? latin1(raw)
        }
    }

    /// Non-ASCII bytes without a declared character set: valid UTF-8 first
    /// (modern writers), then the configured fallback, then Latin-1, which
    /// cannot fail.
    static func decodeUndeclared(_ raw: [UInt8], fallback: String) -> String {
        if let s = String(validating: raw, as: UTF8.self) { return s }
        if !fallback.isEmpty, let s = Iconv.decode(raw, from: fallback, strict: true) { return s }
        return latin1(raw)
    }

    static func latin1(_ raw: some Sequence<UInt8>) -> String {
        var s = ""
        for b in raw { s.unicodeScalars.append(Unicode.Scalar(b)) }
        return s
    }
}

extension StringProtocol {
    /// Strips any of `set`'s characters from both ends.
    func trimming(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
