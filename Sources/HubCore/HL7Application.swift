/// What an HL7 application of an institution is, which decides what its messages may do through the hub's MLLP door.
public enum HL7ApplicationKind: String, Sendable, Codable, CaseIterable, ClosedSet {
    /// A laboratory information system: sends results (ORU^R01), registered as the institution's laboratory staff
    /// would register them.
    case lis
    /// A hospital information system: sends patient administration (ADT) to the patient index, receives reports.
    case his
    /// A radiology information system: receives orders for the institution's centers.
    case ris
}

/// An HL7 v2 application an institution registered (`/v1/institutions/{id}/hl7-applications`): MLLP carries no token,
/// so a message is taken only when its sending application and facility (MSH-3, MSH-4) name a registered
/// application and it comes from the application's address.
public struct HL7Application: Sendable, Codable, Equatable {
    public var id: String
    public var institutionId: String
    /// MSH-3's namespace id; with `facility`, unique in the hub.
    public var application: String
    /// MSH-4's namespace id.
    public var facility: String
    /// The application's address: an IP address or a host name (resolved when a connection arrives).
    public var host: String
    /// Where the application listens for the hub's own messages (reports, orders), if it does.
    public var port: Int?
    public var kind: HL7ApplicationKind
    public var description: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: String, institutionId: String, application: String, facility: String, host: String, port: Int?,
        kind: HL7ApplicationKind, description: String?, createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.institutionId = institutionId
        self.application = application
        self.facility = facility
        self.host = host
        self.port = port
        self.kind = kind
        self.description = description
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, application, facility, host, port, kind, description
        case institutionId = "institution_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// The roles its messages act with: those of the institution's staff who would do the same by hand.
    public var roles: Set<Role> {
        switch kind {
        case .lis, .ris: [.reader]
        case .his: [.clinic]
        }
    }

    /// The principal a message of this application acts as, with its institution's rights.
    public var principal: Principal {
        Principal(
            tokenId: "hl7:\(id)", practitionerId: nil, institutionId: institutionId, roles: roles,
            name: "\(application)@\(facility)")
    }
}

/// The names of HL7 applications and facilities (the namespace id of HD): 1 to 180 characters, none of them a
/// control character or one of HL7's delimiters (`|^~\&`), compared as given.
public enum HL7NameRules {
    public static func problem(_ name: String) -> String? {
        guard !name.isEmpty, name.count <= 180 else { return "must be 1 to 180 characters" }
        let delimiters: Set<Unicode.Scalar> = ["|", "^", "~", "\\", "&"]
        guard
            !name.unicodeScalars.contains(where: {
                delimiters.contains($0) || $0.properties.generalCategory == .control
            })
        else { return "must not contain control characters or HL7 delimiters (|^~\\&)" }
        guard name.first != " " && name.last != " " else { return "must not start or end with a space" }
        return nil
    }
}

/// An HL7 application to register, or the fields to change (PATCH: absent fields are kept).
public struct HL7ApplicationInput: Sendable, Codable {
    public var application: String?
    public var facility: String?
    public var host: String?
    public var port: Int?
    public var kind: HL7ApplicationKind?
    public var description: String?

    public init(
        application: String? = nil, facility: String? = nil, host: String? = nil, port: Int? = nil,
        kind: HL7ApplicationKind? = nil, description: String? = nil
    ) {
        self.application = application
        self.facility = facility
        self.host = host
        self.port = port
        self.kind = kind
        self.description = description
    }

    /// A new application of `institutionId`, every field checked.
    public func validatedNew(id: String, institutionId: String, now: Timestamp) throws(HubError) -> HL7Application {
        var v = Validator()
        let application = v.require(application, "application")
        let facility = v.require(facility, "facility")
        let host = v.require(host, "host")
        let kind = v.require(kind, "kind")
        check(&v)
        try v.check()
        return HL7Application(
            id: id, institutionId: institutionId, application: application!, facility: facility!, host: host!,
            port: port, kind: kind!, description: description, createdAt: now, updatedAt: now)
    }

    /// `application` with the fields present here changed, every one checked.
    public func applied(to current: HL7Application, now: Timestamp) throws(HubError) -> HL7Application {
        var v = Validator()
        check(&v)
        try v.check()
        var next = current
        if let application { next.application = application }
        if let facility { next.facility = facility }
        if let host { next.host = host }
        if let port { next.port = port }
        if let kind { next.kind = kind }
        if let description { next.description = description }
        next.updatedAt = now
        return next
    }

    private func check(_ v: inout Validator) {
        if let application, let problem = HL7NameRules.problem(application) { v.fail("application", problem) }
        if let facility, let problem = HL7NameRules.problem(facility) { v.fail("facility", problem) }
        if let host, let problem = NodeHost.problem(host) { v.fail("host", problem) }
        if let port, !(1...65535).contains(port) { v.fail("port", "must be 1 to 65535") }
        if let description { _ = v.text(description, "description", maxLength: 200) }
    }
}

/// An institution's own codes for the items of the catalog (`/v1/institutions/{id}/code-maps`): what its laboratory
/// system sends in OBR-4 or OBX-3 when that is neither a catalog code nor a code the catalog lists as equivalent.
public struct CodeMap: Sendable, Codable, Equatable {
    public struct Entry: Sendable, Codable, Equatable, Hashable {
        /// The coding system as the institution sends it (OBX-3.3, e.g. `L` or `99LOCAL`); absent: any.
        public var system: String?
        public var code: String
        /// The catalog item it stands for.
        public var itemCode: String

        public init(system: String?, code: String, itemCode: String) {
            self.system = system
            self.code = code
            self.itemCode = itemCode
        }

        enum CodingKeys: String, CodingKey {
            case system, code
            case itemCode = "item_code"
        }
    }

    public var institutionId: String
    public var entries: [Entry]
    public var updatedAt: Timestamp

    public init(institutionId: String, entries: [Entry], updatedAt: Timestamp) {
        self.institutionId = institutionId
        self.entries = entries
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case entries
        case institutionId = "institution_id"
        case updatedAt = "updated_at"
    }

    /// The catalog item an institution's code stands for: an entry for its system first, then one for any system.
    public func itemCode(code: String, system: String?) -> String? {
        entries.first { $0.code == code && $0.system != nil && $0.system == system }?.itemCode
            ?? entries.first { $0.code == code && $0.system == nil }?.itemCode
    }
}
