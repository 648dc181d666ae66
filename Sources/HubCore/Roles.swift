/// What a token may do. The set is fixed by the API contract.
public enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    /// Hub operator.
    case admin
    /// Primary clinic staff: submit exams and read their own.
    case clinic
    /// Specialist who claims and reports.
    case reader
    /// Senior physician who signs reports.
    case verifier
    /// Hospital clinician: recognition checks and decisions.
    case clinician
    /// Audit log and statistics.
    case auditor
    /// An institution's integration administrator: registers and removes the webhook that receives its reports and
    /// critical-value notices.
    case integrationAdmin = "integration_admin"
    /// Another hub.
    case peer

    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }
}

/// Professional title (职称), which the two-level signature depends on.
public enum PractitionerTitle: String, Sendable, Codable, CaseIterable, Comparable {
    /// 住院医师
    case resident
    /// 主治医师: the lowest title that may verify a report.
    case attending
    /// 副主任医师
    case associateChief = "associate_chief"
    /// 主任医师
    case chief

    public var rank: Int {
        switch self {
        case .resident: 0
        case .attending: 1
        case .associateChief: 2
        case .chief: 3
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

/// A person (or service account) at one institution.
public struct Practitioner: Sendable, Codable, Equatable {
    public var id: String
    public var institutionId: String
    public var name: String
    public var title: PractitionerTitle
    public var department: String?
    public var roles: [Role]
    public var status: RecordStatus
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: String, institutionId: String, name: String, title: PractitionerTitle, department: String?, roles: [Role],
        status: RecordStatus = .active, createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.institutionId = institutionId
        self.name = name
        self.title = title
        self.department = department
        self.roles = roles
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, title, department, roles, status
        case institutionId = "institution_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

public struct PractitionerInput: Sendable, Codable {
    public var name: String?
    public var title: PractitionerTitle?
    public var department: String?
    public var roles: [Role]?
    public var status: RecordStatus?

    public init(
        name: String? = nil, title: PractitionerTitle? = nil, department: String? = nil, roles: [Role]? = nil,
        status: RecordStatus? = nil
    ) {
        self.name = name
        self.title = title
        self.department = department
        self.roles = roles
        self.status = status
    }

    public func validatedNew(id: String, institutionId: String, now: Timestamp) throws(HubError) -> Practitioner {
        var v = Validator()
        let name = v.text(name, "name")
        let title = v.require(title, "title")
        let department = v.text(department, "department", required: false)
        let roles = validRoles(&v, required: true)
        try v.check()
        return Practitioner(
            id: id, institutionId: institutionId, name: name!, title: title!, department: department, roles: roles!,
            status: status ?? .active, createdAt: now, updatedAt: now)
    }

    public func applied(to current: Practitioner, now: Timestamp) throws(HubError) -> Practitioner {
        var v = Validator()
        var next = current
        if name != nil, let name = v.text(name, "name") { next.name = name }
        if let title { next.title = title }
        if department != nil, let department = v.text(department, "department") { next.department = department }
        if roles != nil, let roles = validRoles(&v, required: false) { next.roles = roles }
        if let status { next.status = status }
        try v.check()
        next.updatedAt = now
        return next
    }

    private func validRoles(_ v: inout Validator, required: Bool) -> [Role]? {
        guard let roles else {
            if required { v.fail("roles", "is required") }
            return nil
        }
        if roles.isEmpty { v.fail("roles", "must name at least one role") }
        if roles.contains(.peer) { v.fail("roles", "'peer' belongs to hub service accounts, not practitioners") }
        return Array(Set(roles)).sorted()
    }
}
