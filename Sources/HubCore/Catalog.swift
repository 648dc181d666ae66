/// What kind of service performs an item.
public enum ItemKind: String, Sendable, Codable, CaseIterable {
    case lab, imaging, ecg, pathology
}

/// The category regulators add savings up by.
public enum ItemCategory: String, Sendable, Codable, CaseIterable {
    case lab
    case dr = "DR"
    case ct = "CT"
    case mr = "MR"
    case us = "US"
    case ecg = "ECG"
    case pathology

    /// The item kind a category belongs to; a catalog item's kind and category must agree.
    public var kind: ItemKind {
        switch self {
        case .lab: .lab
        case .dr, .ct, .mr, .us: .imaging
        case .ecg: .ecg
        case .pathology: .pathology
        }
    }
}

/// How far a recognized result travels: same-level institutions recognize each other inside the scope.
public enum RecognitionScope: String, Sendable, Codable, CaseIterable, Comparable {
    case alliance, city, province, region, national

    public var breadth: Int {
        switch self {
        case .alliance: 0
        case .city: 1
        case .province: 2
        case .region: 3
        case .national: 4
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.breadth < b.breadth }
}

/// An amount of money in fen (0.01 yuan), so sums of prices are exact. Written as a number of yuan.
public struct Money: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var fen: Int64

    public init(fen: Int64) { self.fen = fen }

    /// Yuan with at most two decimals; nil for negative, non-finite or finer amounts.
    public init?(yuan: Double) {
        guard yuan.isFinite, yuan >= 0, yuan < 1e12 else { return nil }
        let scaled = (yuan * 100).rounded()
        guard abs(scaled - yuan * 100) < 1e-6 else { return nil }
        self.fen = Int64(scaled)
    }

    public var yuan: Double { Double(fen) / 100 }

    public static func + (a: Money, b: Money) -> Money { Money(fen: a.fen + b.fen) }
    public static func < (a: Money, b: Money) -> Bool { a.fen < b.fen }
    public static let zero = Money(fen: 0)

    public var description: String {
        let sign = fen < 0 ? "-" : ""
        let v = abs(fen)
        return sign + String(v / 100) + "." + Digits.pad(Int(v % 100), 2)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value = try container.decode(Double.self)
        guard let money = Money(yuan: value) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a non-negative amount in yuan with at most 2 decimals")
        }
        self = money
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(yuan)
    }
}

/// One item of the recognition catalog.
public struct CatalogItem: Sendable, Codable, Equatable {
    public var code: String
    public var name: String
    public var nameEn: String?
    public var kind: ItemKind
    public var category: ItemCategory
    public var loinc: String?
    public var specimen: String?
    public var unit: String?
    public var modality: String?
    public var bodySite: String?
    public var validityDays: Int
    public var scope: RecognitionScope
    public var price: Money
    public var mark: String?
    public var equivalentCodes: [String]

    public init(
        code: String, name: String, nameEn: String? = nil, kind: ItemKind, category: ItemCategory,
        loinc: String? = nil, specimen: String? = nil, unit: String? = nil, modality: String? = nil,
        bodySite: String? = nil, validityDays: Int, scope: RecognitionScope, price: Money, mark: String? = nil,
        equivalentCodes: [String] = []
    ) {
        self.code = code
        self.name = name
        self.nameEn = nameEn
        self.kind = kind
        self.category = category
        self.loinc = loinc
        self.specimen = specimen
        self.unit = unit
        self.modality = modality
        self.bodySite = bodySite
        self.validityDays = validityDays
        self.scope = scope
        self.price = price
        self.mark = mark
        self.equivalentCodes = equivalentCodes
    }

    enum CodingKeys: String, CodingKey {
        case code, name, kind, category, loinc, specimen, unit, modality, scope, price, mark
        case nameEn = "name_en"
        case bodySite = "body_site"
        case validityDays = "validity_days"
        case equivalentCodes = "equivalent_codes"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        code = try c.decode(String.self, forKey: .code)
        name = try c.decode(String.self, forKey: .name)
        nameEn = try c.decodeIfPresent(String.self, forKey: .nameEn)
        kind = try c.decode(ItemKind.self, forKey: .kind)
        category = try c.decode(ItemCategory.self, forKey: .category)
        loinc = try c.decodeIfPresent(String.self, forKey: .loinc)
        specimen = try c.decodeIfPresent(String.self, forKey: .specimen)
        unit = try c.decodeIfPresent(String.self, forKey: .unit)
        modality = try c.decodeIfPresent(String.self, forKey: .modality)
        bodySite = try c.decodeIfPresent(String.self, forKey: .bodySite)
        validityDays = try c.decode(Int.self, forKey: .validityDays)
        scope = try c.decode(RecognitionScope.self, forKey: .scope)
        price = try c.decode(Money.self, forKey: .price)
        mark = try c.decodeIfPresent(String.self, forKey: .mark)
        equivalentCodes = try c.decodeIfPresent([String].self, forKey: .equivalentCodes) ?? []
    }
}

/// A published version of the catalog. Versions are immutable once published; a new one supersedes from its
/// effective date, and every evaluation records the version it used.
public struct CatalogVersion: Sendable, Codable, Equatable {
    public var version: String
    public var effectiveFrom: CivilDate
    public var title: String?
    public var items: [CatalogItem]

    public init(version: String, effectiveFrom: CivilDate, title: String? = nil, items: [CatalogItem]) {
        self.version = version
        self.effectiveFrom = effectiveFrom
        self.title = title
        self.items = items
    }

    enum CodingKeys: String, CodingKey {
        case version, title, items
        case effectiveFrom = "effective_from"
    }

    public static let versionRule = "1 to 32 characters: letters, digits, '.', '-' or '_'"

    /// Checks the whole version; every problem is reported with the item's position.
    public func validate() throws(HubError) {
        var v = Validator()
        let versionOK =
            (1...32).contains(version.count)
            && version.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_".unicodeScalars.contains($0))
            }
        if !versionOK { v.fail("version", CatalogVersion.versionRule) }
        if let title, title.count > 200 { v.fail("title", "must be at most 200 characters") }
        if items.isEmpty { v.fail("items", "must contain at least one item") }
        if items.count > 20_000 { v.fail("items", "at most 20000 items") }
        var owner: [String: String] = [:]
        for (i, item) in items.enumerated() {
            let field = "items[\(i)]"
            if !CatalogVersion.isValidCode(item.code) {
                v.fail("\(field).code", "must be 1 to 32 characters: uppercase letters, digits, '-' or '.'")
            }
            if item.name.trimmingWhitespace().isEmpty { v.fail("\(field).name", "must not be empty") }
            if item.validityDays <= 0 || item.validityDays > 36_500 {
                v.fail("\(field).validity_days", "must be greater than 0 (and at most 36500)")
            }
            if item.category.kind != item.kind {
                v.fail(
                    "\(field).category", "'\(item.category.rawValue)' is not a category of \(item.kind.rawValue) items")
            }
            if let previous = owner[item.code] {
                v.fail(
                    "\(field).code",
                    previous == item.code
                        ? "'\(item.code)' appears twice" : "'\(item.code)' is already an equivalent code of \(previous)"
                )
            } else {
                owner[item.code] = item.code
            }
            for (j, alias) in item.equivalentCodes.enumerated() {
                if alias.isEmpty || alias.count > 64 {
                    v.fail("\(field).equivalent_codes[\(j)]", "must be 1 to 64 characters")
                } else if let previous = owner[alias] {
                    v.fail("\(field).equivalent_codes[\(j)]", "'\(alias)' already names \(previous)")
                } else {
                    owner[alias] = item.code
                }
            }
        }
        try v.check()
    }

    static func isValidCode(_ code: String) -> Bool {
        (1...32).contains(code.count)
            && code.unicodeScalars.allSatisfy {
                ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "."
            }
    }
}

/// A version with its lookup tables built once: code or equivalent code → item.
public struct CatalogIndex: Sendable {
    public let version: CatalogVersion
    private let positions: [String: Int]

    public init(_ version: CatalogVersion) {
        self.version = version
        var positions: [String: Int] = [:]
        for (i, item) in version.items.enumerated() {
            positions[item.code] = i
            for alias in item.equivalentCodes where positions[alias] == nil { positions[alias] = i }
        }
        self.positions = positions
    }

    /// The item whose code or equivalent code is `code`.
    public func item(_ code: String) -> CatalogItem? {
        positions[code].map { version.items[$0] }
    }
}

/// Versions ordered by when they come into force.
public enum CatalogSchedule {
    /// The version in force on `date`: the latest effective date not after it; among equal dates the one listed last
    /// (the latest published).
    public static func inForce<V>(_ versions: [V], on date: CivilDate, effectiveFrom: (V) -> CivilDate) -> V? {
        var best: V?
        for v in versions where effectiveFrom(v) <= date {
            if let current = best, effectiveFrom(current) > effectiveFrom(v) { continue }
            best = v
        }
        return best
    }
}
