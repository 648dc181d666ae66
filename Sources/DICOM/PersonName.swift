/// A Person Name (PN) value: up to three `=`-separated component groups
/// (alphabetic, ideographic, phonetic), each with up to five `^`-separated
/// components (family, given, middle, prefix, suffix).
public struct PersonName: Sendable, Codable, Equatable, CustomStringConvertible {
    /// The decoded value as stored, e.g. `Zhang^San=张^三`.
    public let raw: String
    /// Single-byte (usually Latin) representation.
    public let alphabetic: String
    /// Ideographic (e.g. Chinese characters) representation.
    public let ideographic: String
    /// Phonetic (e.g. hiragana, hangul) representation.
    public let phonetic: String

    /// Splits `raw`, which must already be decoded to Unicode: splitting the
    /// encoded bytes would break multi-byte characters whose second byte is
    /// `^` (0x5E) in GBK/GB18030.
    public init(_ raw: String) {
        self.raw = raw
        let groups = raw.split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        alphabetic = groups.count > 0 ? groups[0] : ""
        ideographic = groups.count > 1 ? groups[1] : ""
        phonetic = groups.count > 2 ? groups[2] : ""
    }

    /// The `^` components of a group: family, given, middle, prefix, suffix.
    public static func components(of group: String) -> [String] {
        group.split(separator: "^", omittingEmptySubsequences: false).map(String.init)
    }

    /// Components of the alphabetic group.
    public var alphabeticComponents: [String] { Self.components(of: alphabetic) }
    /// Components of the ideographic group.
    public var ideographicComponents: [String] { Self.components(of: ideographic) }
    /// Components of the phonetic group.
    public var phoneticComponents: [String] { Self.components(of: phonetic) }

    /// Family name from the alphabetic group, else the ideographic one.
    public var familyName: String {
        let group = alphabetic.isEmpty ? ideographic : alphabetic
        return Self.components(of: group).first ?? ""
    }

    public var description: String { raw }
}
