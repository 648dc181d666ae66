/// Level of a member institution; the escalation path runs primary → secondary → tertiary.
public enum InstitutionLevel: String, Sendable, Codable, CaseIterable, Comparable {
    case primary, secondary, tertiary

    public var rank: Int {
        switch self {
        case .primary: 0
        case .secondary: 1
        case .tertiary: 2
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

/// Whether a registry record takes part in the workflow. Records are suspended, never deleted, so history stays whole.
public enum RecordStatus: String, Sendable, Codable, CaseIterable {
    case active, suspended
}

/// A GB/T 2260 administrative division code: 6 digits, province in the first two.
public struct RegionCode: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: String

    public init?(_ value: String) {
        guard value.utf8.count == 6, value.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        // Province codes run 11 (Beijing) to 82 (Macau); 00 is no province.
        guard let province = Int(value.prefix(2)), (11...82).contains(province) else { return nil }
        self.value = value
    }

    /// The province part, e.g. "42" for Hubei.
    public var province: String { String(value.prefix(2)) }
    /// The prefecture-level city part, e.g. "4201" for Wuhan.
    public var city: String { String(value.prefix(4)) }

    public var description: String { value }

    public static let rule = "6 digits of a GB/T 2260 division code, province 11 to 82"

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let code = RegionCode(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: RegionCode.rule)
        }
        self = code
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

/// A member institution of one or more alliances.
public struct Institution: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var level: InstitutionLevel
    public var region: RegionCode
    public var alliances: [String]
    public var status: RecordStatus
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: String, name: String, level: InstitutionLevel, region: RegionCode, alliances: [String],
        status: RecordStatus = .active, createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.name = name
        self.level = level
        self.region = region
        self.alliances = alliances
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, level, region, alliances, status
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// What a client sends to create or change an institution; every field optional so that missing fields are
/// reported by name instead of failing the whole decode.
public struct InstitutionInput: Sendable, Codable {
    public var id: String?
    public var name: String?
    public var level: InstitutionLevel?
    public var region: String?
    public var alliances: [String]?
    public var status: RecordStatus?

    public init(
        id: String? = nil, name: String? = nil, level: InstitutionLevel? = nil, region: String? = nil,
        alliances: [String]? = nil, status: RecordStatus? = nil
    ) {
        self.id = id
        self.name = name
        self.level = level
        self.region = region
        self.alliances = alliances
        self.status = status
    }

    /// A new institution from this input, or every reason it cannot be one.
    public func validatedNew(generatedID: String, now: Timestamp) throws(HubError) -> Institution {
        var v = Validator()
        if let id, !ResourceID.isValid(id) { v.fail("id", ResourceID.rule) }
        let name = v.text(name, "name")
        let level = v.require(level, "level")
        let region = validRegion(&v, required: true)
        let alliances = validAlliances(&v)
        try v.check()
        return Institution(
            id: id ?? generatedID, name: name!, level: level!, region: region!, alliances: alliances ?? [],
            status: status ?? .active, createdAt: now, updatedAt: now)
    }

    /// The institution with this input applied, for PATCH; `id` cannot change.
    public func applied(to current: Institution, now: Timestamp) throws(HubError) -> Institution {
        var v = Validator()
        if let id, id != current.id { v.fail("id", "cannot be changed") }
        var next = current
        if name != nil, let name = v.text(name, "name") { next.name = name }
        if let level { next.level = level }
        if region != nil, let region = validRegion(&v, required: false) { next.region = region }
        if let alliances = validAlliances(&v) { next.alliances = alliances }
        if let status { next.status = status }
        try v.check()
        next.updatedAt = now
        return next
    }

    private func validRegion(_ v: inout Validator, required: Bool) -> RegionCode? {
        guard let region else {
            if required { v.fail("region", "is required") }
            return nil
        }
        guard let code = RegionCode(region) else {
            v.fail("region", RegionCode.rule)
            return nil
        }
        return code
    }

    private func validAlliances(_ v: inout Validator) -> [String]? {
        guard let alliances else { return nil }
        var seen = Set<String>()
        for (i, alliance) in alliances.enumerated()
        where !ResourceID.isValid(alliance) || !seen.insert(alliance).inserted {
            v.fail("alliances[\(i)]", ResourceID.isValid(alliance) ? "is listed twice" : ResourceID.rule)
        }
        if alliances.count > 50 { v.fail("alliances", "at most 50 alliances") }
        return alliances
    }
}
