/// The four kinds of shared diagnostic center an alliance opens.
public enum CenterKind: String, Sendable, Codable, CaseIterable {
    case imaging, ecg, pathology, lab
}

/// FHIR request priority, from least to most urgent.
public enum Priority: String, Sendable, Codable, CaseIterable, Comparable {
    case routine, urgent, asap, stat

    /// Higher is more urgent; worklists sort by this first.
    public var urgency: Int {
        switch self {
        case .routine: 0
        case .urgent: 1
        case .asap: 2
        case .stat: 3
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.urgency < b.urgency }
}

/// The kind of quality-control qualification a center holds for some items.
public enum QualificationType: String, Sendable, Codable, CaseIterable {
    /// Pass in the national (NCCL) external quality assessment, 室间质评.
    case ncclEQA = "nccl_eqa"
    /// Pass in a provincial clinical-laboratory center's external quality assessment.
    case provincialEQA = "provincial_eqa"
    /// Provincial imaging quality-control certificate.
    case imagingQC = "imaging_qc"
    /// Provincial ECG quality-control certificate.
    case ecgQC = "ecg_qc"
    /// Provincial pathology quality-control certificate.
    case pathologyQC = "pathology_qc"
    /// Laboratory accreditation (ISO 15189).
    case accreditation
}

/// A dated qualification covering some items. Work for an item is never routed to a center without one in force.
public struct Qualification: Sendable, Codable, Equatable {
    public var type: QualificationType
    public var items: [String]
    public var validFrom: CivilDate
    public var validTo: CivilDate
    public var issuer: String
    public var certificate: String?

    public init(
        type: QualificationType, items: [String], validFrom: CivilDate, validTo: CivilDate, issuer: String,
        certificate: String? = nil
    ) {
        self.type = type
        self.items = items
        self.validFrom = validFrom
        self.validTo = validTo
        self.issuer = issuer
        self.certificate = certificate
    }

    /// Valid from `validFrom` through `validTo`, both days included.
    public func covers(item: String, on date: CivilDate) -> Bool {
        items.contains(item) && validFrom <= date && date <= validTo
    }

    enum CodingKeys: String, CodingKey {
        case type, items, issuer, certificate
        case validFrom = "valid_from"
        case validTo = "valid_to"
    }
}

/// One opening period of a center, e.g. Monday to Friday 08:00–17:30.
public struct OpeningHours: Sendable, Codable, Equatable {
    public static let dayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    public var days: [String]
    public var open: String
    public var close: String

    public init(days: [String], open: String, close: String) {
        self.days = days
        self.open = open
        self.close = close
    }

    /// Minutes after midnight for `HH:MM`, or nil.
    public static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]),
            (0...24).contains(h), (0..<60).contains(m), h * 60 + m <= 1440
        else { return nil }
        return h * 60 + m
    }
}

/// Turnaround targets in minutes per priority; a missing priority has no target.
public struct TurnaroundTargets: Sendable, Codable, Equatable {
    public var routine: Int?
    public var urgent: Int?
    public var asap: Int?
    public var stat: Int?

    public init(routine: Int? = nil, urgent: Int? = nil, asap: Int? = nil, stat: Int? = nil) {
        self.routine = routine
        self.urgent = urgent
        self.asap = asap
        self.stat = stat
    }

    public subscript(priority: Priority) -> Int? {
        switch priority {
        case .routine: routine
        case .urgent: urgent
        case .asap: asap
        case .stat: stat
        }
    }
}

/// A shared diagnostic center hosted by a member institution.
public struct Center: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var kind: CenterKind
    public var institutionId: String
    public var items: [String]
    public var modalities: [String]
    public var hours: [OpeningHours]
    public var dailyCapacity: Int
    public var turnaroundMinutes: TurnaroundTargets
    public var qualifications: [Qualification]
    public var status: RecordStatus
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: String, name: String, kind: CenterKind, institutionId: String, items: [String], modalities: [String],
        hours: [OpeningHours], dailyCapacity: Int, turnaroundMinutes: TurnaroundTargets,
        qualifications: [Qualification], status: RecordStatus, createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.institutionId = institutionId
        self.items = items
        self.modalities = modalities
        self.hours = hours
        self.dailyCapacity = dailyCapacity
        self.turnaroundMinutes = turnaroundMinutes
        self.qualifications = qualifications
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public func offers(_ item: String) -> Bool { items.contains(item) }

    /// The qualification in force for `item` on `date`, if any.
    public func qualification(for item: String, on date: CivilDate) -> Qualification? {
        qualifications.first { $0.covers(item: item, on: date) }
    }

    enum CodingKeys: String, CodingKey {
        case id, name, kind, items, modalities, hours, qualifications, status
        case institutionId = "institution_id"
        case dailyCapacity = "daily_capacity"
        case turnaroundMinutes = "turnaround_minutes"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

public struct CenterInput: Sendable, Codable {
    public var id: String?
    public var name: String?
    public var kind: CenterKind?
    public var institutionId: String?
    public var items: [String]?
    public var modalities: [String]?
    public var hours: [OpeningHours]?
    public var dailyCapacity: Int?
    public var turnaroundMinutes: TurnaroundTargets?
    public var qualifications: [Qualification]?
    public var status: RecordStatus?

    public init(
        id: String? = nil, name: String? = nil, kind: CenterKind? = nil, institutionId: String? = nil,
        items: [String]? = nil, modalities: [String]? = nil, hours: [OpeningHours]? = nil, dailyCapacity: Int? = nil,
        turnaroundMinutes: TurnaroundTargets? = nil, qualifications: [Qualification]? = nil,
        status: RecordStatus? = nil
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.institutionId = institutionId
        self.items = items
        self.modalities = modalities
        self.hours = hours
        self.dailyCapacity = dailyCapacity
        self.turnaroundMinutes = turnaroundMinutes
        self.qualifications = qualifications
        self.status = status
    }

    enum CodingKeys: String, CodingKey {
        case id, name, kind, items, modalities, hours, qualifications, status
        case institutionId = "institution_id"
        case dailyCapacity = "daily_capacity"
        case turnaroundMinutes = "turnaround_minutes"
    }

    public func validatedNew(
        generatedID: String, catalog: (String) -> CatalogItem?, now: Timestamp
    ) throws(HubError)
        -> Center
    {
        var v = Validator()
        if let id, !ResourceID.isValid(id) { v.fail("id", ResourceID.rule) }
        let name = v.text(name, "name")
        let kind = v.require(kind, "kind")
        let institutionId = v.text(institutionId, "institution_id", maxLength: ResourceID.maxLength)
        let capacity = v.require(dailyCapacity, "daily_capacity")
        _ = v.require(items, "items")
        try v.check()
        let center = Center(
            id: id ?? generatedID, name: name!, kind: kind!, institutionId: institutionId!, items: items!,
            modalities: modalities ?? [], hours: hours ?? [], dailyCapacity: capacity!,
            turnaroundMinutes: turnaroundMinutes ?? TurnaroundTargets(), qualifications: qualifications ?? [],
            status: status ?? .active, createdAt: now, updatedAt: now)
        try CenterInput.validate(center, catalog: catalog)
        return center
    }

    public func applied(
        to current: Center, catalog: (String) -> CatalogItem?, now: Timestamp
    ) throws(HubError) -> Center {
        var v = Validator()
        if let id, id != current.id { v.fail("id", "cannot be changed") }
        if let institutionId, institutionId != current.institutionId { v.fail("institution_id", "cannot be changed") }
        if let kind, kind != current.kind { v.fail("kind", "cannot be changed") }
        var next = current
        if name != nil, let name = v.text(name, "name") { next.name = name }
        try v.check()
        if let items { next.items = items }
        if let modalities { next.modalities = modalities }
        if let hours { next.hours = hours }
        if let dailyCapacity { next.dailyCapacity = dailyCapacity }
        if let turnaroundMinutes { next.turnaroundMinutes = turnaroundMinutes }
        if let qualifications { next.qualifications = qualifications }
        if let status { next.status = status }
        next.updatedAt = now
        try CenterInput.validate(next, catalog: catalog)
        return next
    }

    /// The rules every stored center satisfies, checked after create and after every change.
    static func validate(_ center: Center, catalog: (String) -> CatalogItem?) throws(HubError) {
        var v = Validator()
        if center.items.isEmpty { v.fail("items", "must list at least one catalog item") }
        if center.items.count > 2000 { v.fail("items", "at most 2000 items") }
        var seen = Set<String>()
        for (i, code) in center.items.enumerated() {
            if !seen.insert(code).inserted {
                v.fail("items[\(i)]", "'\(code)' is listed twice")
            } else if let item = catalog(code) {
                if item.kind != center.kind.itemKind {
                    v.fail(
                        "items[\(i)]",
                        "'\(code)' is a \(item.kind.rawValue) item; a \(center.kind.rawValue) center cannot offer it")
                }
            } else {
                v.fail("items[\(i)]", "'\(code)' is not in the catalog in force")
            }
        }
        for (i, modality) in center.modalities.enumerated() {
            let ok = (2...4).contains(modality.count) && modality.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) }
            if !ok { v.fail("modalities[\(i)]", "must be a DICOM modality code such as CT, MR, DX, US, ECG, SM") }
        }
        for (i, period) in center.hours.enumerated() {
            if period.days.isEmpty { v.fail("hours[\(i)].days", "must name at least one day") }
            for day in period.days where !OpeningHours.dayNames.contains(day) {
                v.fail("hours[\(i)].days", "'\(day)' is not one of \(OpeningHours.dayNames.joined(separator: ", "))")
            }
            let open = OpeningHours.minutes(period.open)
            let close = OpeningHours.minutes(period.close)
            if open == nil { v.fail("hours[\(i)].open", "must be HH:MM") }
            if close == nil { v.fail("hours[\(i)].close", "must be HH:MM") }
            if let open, let close, close <= open { v.fail("hours[\(i)].close", "must be after open") }
        }
        if !(1...1_000_000).contains(center.dailyCapacity) {
            v.fail("daily_capacity", "must be between 1 and 1000000")
        }
        var previous: (Priority, Int)?
        for priority in Priority.allCases {
            guard let minutes = center.turnaroundMinutes[priority] else { continue }
            if !(1...525_600).contains(minutes) {
                v.fail("turnaround_minutes.\(priority.rawValue)", "must be between 1 and 525600 minutes")
            } else if let (lower, lowerMinutes) = previous, minutes > lowerMinutes {
                v.fail(
                    "turnaround_minutes.\(priority.rawValue)",
                    "must not be longer than the \(lower.rawValue) target of \(lowerMinutes) minutes")
            }
            previous = (priority, minutes)
        }
        for (i, q) in center.qualifications.enumerated() {
            let field = "qualifications[\(i)]"
            if q.validTo <= q.validFrom { v.fail("\(field).valid_to", "must be after valid_from") }
            if q.items.isEmpty { v.fail("\(field).items", "must list at least one item") }
            for (j, code) in q.items.enumerated() where !center.items.contains(code) {
                v.fail("\(field).items[\(j)]", "'\(code)' is not among the center's items")
            }
            if q.issuer.trimmingWhitespace().isEmpty { v.fail("\(field).issuer", "must not be empty") }
            if !center.kind.qualificationTypes.contains(q.type) {
                v.fail("\(field).type", "'\(q.type.rawValue)' does not apply to a \(center.kind.rawValue) center")
            }
        }
        try v.check()
    }
}

extension CenterKind {
    /// The catalog item kind this center kind performs.
    public var itemKind: ItemKind {
        switch self {
        case .imaging: .imaging
        case .ecg: .ecg
        case .pathology: .pathology
        case .lab: .lab
        }
    }

    /// Qualification types that mean something for this kind of center.
    public var qualificationTypes: Set<QualificationType> {
        switch self {
        case .lab: [.ncclEQA, .provincialEQA, .accreditation]
        case .imaging: [.imagingQC, .accreditation]
        case .ecg: [.ecgQC, .accreditation]
        case .pathology: [.pathologyQC, .provincialEQA, .accreditation]
        }
    }
}
