/// One of a patient's identifiers: a system and a value. Facilities use different numbers for one patient, so the
/// hub keeps every identifier it is given and matches on any of them.
///
/// Both parts are kept in their canonical form (`canonical(system:value:)`), applied when an identifier is made or
/// decoded, so validation, storage, the keyed hash and every search see one spelling per identifier: a resident ID
/// written with a lower-case `x` is the same patient as one written with `X`.
public struct PatientIdentifier: Sendable, Codable, Hashable, CustomStringConvertible {
    public private(set) var system: String
    public private(set) var value: String

    public init(system: String, value: String) {
        (self.system, self.value) = Self.canonical(system: system, value: value)
    }

    enum CodingKeys: String, CodingKey { case system, value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            system: try container.decode(String.self, forKey: .system),
            value: try container.decode(String.self, forKey: .value))
    }

    /// The one spelling of an identifier, for every system:
    /// - the system, and the value of every system, lose white space around them;
    /// - a resident ID (`cn-resident-id`) and a medical-insurance number (`cn-medical-insurance`) also lose white
    ///   space inside (neither holds any: `4201 0219 8001 0112 3X` is how a card is read aloud), full-width digits and
    ///   letters (as an input method types them: `４２０１…Ｘ`) become ASCII, and letters become upper case (the
    ///   check character `x` is `X`);
    /// - other systems (a hospital's record number `mrn:<institution>`, a health card) are opaque: their inner
    ///   characters and case are kept as given.
    /// A value that is already canonical is returned as it is, without a copy.
    public static func canonical(system: String, value: String) -> (system: String, value: String) {
        let system = trimmed(system)
        switch system {
        case residentID, medicalInsurance:
            return (system, foldedNationalNumber(value))
        default:
            return (system, trimmed(value))
        }
    }

    /// Without white space at either end; the text itself when it starts and ends with a visible ASCII character.
    private static func trimmed(_ text: String) -> String {
        let visible = { (byte: UInt8?) in byte.map { $0 > 0x20 && $0 < 0x7F } ?? false }
        if visible(text.utf8.first) && visible(text.utf8.last) { return text }
        return text.trimmingWhitespace()
    }

    /// A national number without white space, in ASCII where it was typed full-width, in upper case.
    private static func foldedNationalNumber(_ value: String) -> String {
        let needsFolding = value.utf8.contains { byte in
            byte >= 0x80 || byte <= 0x20 || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
        }
        guard needsFolding else { return value }
        var scalars = String.UnicodeScalarView()
        for scalar in value.unicodeScalars where !scalar.properties.isWhitespace {
            var folded = scalar
            // The full-width forms U+FF01...U+FF5E stand for ASCII U+0021...U+007E.
            if (0xFF01...0xFF5E).contains(scalar.value), let ascii = Unicode.Scalar(scalar.value - 0xFEE0) {
                folded = ascii
            }
            if ("a"..."z").contains(folded), let upper = Unicode.Scalar(folded.value - 32) { folded = upper }
            scalars.append(folded)
        }
        return String(scalars)
    }

    /// The 18-character resident identity card number (居民身份证).
    public static let residentID = "cn-resident-id"
    /// The medical-insurance number.
    public static let medicalInsurance = "cn-medical-insurance"

    /// `system|value`, or a bare value meaning a resident ID, as written in query strings.
    public init?(query: String) {
        if let bar = query.firstIndex(of: "|") {
            self.init(system: String(query[..<bar]), value: String(query[query.index(after: bar)...]))
        } else {
            self.init(system: Self.residentID, value: query)
        }
        if system.isEmpty || value.isEmpty { return nil }
    }

    public var description: String { "\(system)|\(value)" }

    /// Why this identifier is not acceptable, or nil. Resident IDs are checked fully; a hospital record number is
    /// `mrn:<institution-id>`; other systems are kept as opaque strings.
    public var problem: String? {
        if system.isEmpty || system.count > 100 { return "system must be 1 to 100 characters" }
        if value.isEmpty || value.count > 100 { return "value must be 1 to 100 characters" }
        if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "value must not contain control characters"
        }
        switch system {
        case Self.residentID: return ResidentID.problem(value)
        case Self.medicalInsurance:
            return value.unicodeScalars.allSatisfy({
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))
            })
                ? nil : "a medical-insurance number has only ASCII letters and digits"
        default:
            if system.hasPrefix("mrn:") && !ResourceID.isValid(String(system.dropFirst(4))) {
                return "an mrn system names an institution: mrn:<institution-id>"
            }
            return nil
        }
    }
}

/// GB 11643 citizen identification numbers: 6-digit region, 8-digit birth date, 3-digit sequence, and an
/// ISO 7064 MOD 11-2 check character (0-9 or X).
public enum ResidentID {
    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checks: [Character] = ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"]

    /// The check character the first 17 digits call for.
    public static func checkCharacter(_ first17: some StringProtocol) -> Character? {
        let digits = first17.compactMap(\.wholeNumberValue)
        guard first17.count == 17, digits.count == 17, first17.allSatisfy(\.isASCII) else { return nil }
        let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
        return checks[sum % 11]
    }

    public static func problem(_ id: String) -> String? {
        guard id.count == 18 else { return "a resident ID has 18 characters" }
        guard let expected = checkCharacter(id.prefix(17)) else { return "a resident ID starts with 17 digits" }
        // Compared as strings: some characters upper-case to two (ß → SS), which a Character cannot hold.
        guard id.suffix(1).uppercased() == String(expected) else {
            return "the check character does not match (ISO 7064 MOD 11-2)"
        }
        guard RegionCode(String(id.prefix(6))) != nil else { return "the first 6 digits are not a division code" }
        guard CivilDate(compact: id.dropFirst(6).prefix(8)) != nil else { return "digits 7 to 14 are not a birth date" }
        return nil
    }

    public static func isValid(_ id: String) -> Bool { problem(id) == nil }
}

/// Administrative sex, as FHIR codes it.
public enum Sex: String, Sendable, Codable, CaseIterable, ClosedSet {
    case male, female, other, unknown
}

/// The patient an exam or result is about.
public struct Patient: Sendable, Codable, Equatable {
    public var identifiers: [PatientIdentifier]
    public var name: String?
    public var sex: Sex?
    public var birthDate: CivilDate?

    /// A name given in parts (HL7's XPN, FHIR's `family` and `given`) as the hub keeps it whole: family name first,
    /// with no space between Chinese names (`张三`) and one between others (`Zhang San`); nil when no part is given.
    public static func name(family: String?, given: String?) -> String? {
        let parts = [family, given].compactMap { $0 }
        guard !parts.isEmpty else { return nil }
        let ascii = parts.allSatisfy { $0.unicodeScalars.allSatisfy(\.isASCII) }
        return parts.joined(separator: ascii ? " " : "")
    }

    public init(identifiers: [PatientIdentifier], name: String? = nil, sex: Sex? = nil, birthDate: CivilDate? = nil) {
        self.identifiers = identifiers
        self.name = name
        self.sex = sex
        self.birthDate = birthDate
    }

    enum CodingKeys: String, CodingKey {
        case identifiers, name, sex
        case birthDate = "birth_date"
    }

    /// Every problem with the patient, with field paths under `prefix`.
    public func validate(_ v: inout Validator, prefix: String = "patient") {
        if identifiers.isEmpty { v.fail("\(prefix).identifiers", "at least one identifier is required") }
        if identifiers.count > 20 { v.fail("\(prefix).identifiers", "at most 20 identifiers") }
        var seen = Set<PatientIdentifier>()
        for (i, identifier) in identifiers.enumerated() {
            if let problem = identifier.problem { v.fail("\(prefix).identifiers[\(i)]", problem) }
            if !seen.insert(identifier).inserted { v.fail("\(prefix).identifiers[\(i)]", "is listed twice") }
        }
        // A person has one resident ID: a record that gives two of them describes two people, or has a typing error.
        for system in IdentifierRules.onePerPerson {
            let indices = identifiers.indices.filter { identifiers[$0].system == system }
            if Set(indices.map { identifiers[$0] }).count > 1 {
                v.fail("\(prefix).identifiers[\(indices[1])]", "a patient has one \(system) identifier")
            }
        }
        if let name { _ = v.text(name, "\(prefix).name", maxLength: 100) }
    }
}
