/// One of a patient's identifiers: a system and a value. Facilities use different numbers for one patient, so the
/// hub keeps every identifier it is given and matches on any of them.
public struct PatientIdentifier: Sendable, Codable, Hashable, CustomStringConvertible {
    public var system: String
    public var value: String

    public init(system: String, value: String) {
        self.system = system
        self.value = value
    }

    /// The 18-character resident identity card number (居民身份证).
    public static let residentID = "cn-resident-id"
    /// The medical-insurance number.
    public static let medicalInsurance = "cn-medical-insurance"

    /// `system|value`, or a bare value meaning a resident ID, as written in query strings.
    public init?(query: String) {
        if let bar = query.firstIndex(of: "|") {
            system = String(query[..<bar])
            value = String(query[query.index(after: bar)...])
        } else {
            system = Self.residentID
            value = query
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
        if let name { _ = v.text(name, "\(prefix).name", maxLength: 100) }
    }
}
