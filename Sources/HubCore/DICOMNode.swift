/// What a DICOM node of an institution is, which decides what it may do through the hub's DIMSE door.
public enum DICOMNodeKind: String, Sendable, Codable, CaseIterable {
    /// A CT, DR, MR or ultrasound machine of a clinic: stores into the clinic's exams, reads its worklist.
    case modality
    /// An institution's picture archive: stores like a modality, and receives the images of exams routed to a
    /// center of its institution.
    case pacs
    /// A reading workstation: finds and retrieves the studies of exams routed to its institution's centers.
    case workstation
}

/// A DICOM application entity an institution registered: DIMSE carries no token, so a calling AE title is accepted
/// only when it names a registered node and comes from the node's address.
public struct DICOMNode: Sendable, Codable, Equatable {
    public var id: String
    public var institutionId: String
    /// Unique in the hub, compared without leading and trailing spaces.
    public var aeTitle: String
    /// The node's address: an IP address or a host name (resolved when an association arrives).
    public var host: String
    /// Where the node listens, for the hub's own associations to it (C-MOVE destinations, a center's PACS).
    public var port: Int
    public var kind: DICOMNodeKind
    public var description: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: String, institutionId: String, aeTitle: String, host: String, port: Int, kind: DICOMNodeKind,
        description: String?, createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.institutionId = institutionId
        self.aeTitle = aeTitle
        self.host = host
        self.port = port
        self.kind = kind
        self.description = description
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, host, port, kind, description
        case institutionId = "institution_id"
        case aeTitle = "ae_title"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// The roles a node acts with: those of its institution's staff who would do the same by hand.
    public var roles: Set<Role> {
        switch kind {
        case .modality, .pacs: [.clinic]
        case .workstation: [.reader]
        }
    }

    /// The principal an association of this node acts as, with its institution's rights.
    public var principal: Principal {
        Principal(
            tokenId: "dicom:\(id)", practitionerId: nil, institutionId: institutionId, roles: roles, name: aeTitle)
    }
}

/// Application Entity titles (PS3.5 Table 6.2-1, AE): at most 16 characters of printable ASCII without backslash;
/// leading and trailing spaces are not significant.
public enum AETitleRules {
    /// The title as compared and stored: leading and trailing spaces dropped.
    public static func normalized(_ title: String) -> String {
        var s = Substring(title)
        while s.last == " " { s = s.dropLast() }
        while s.first == " " { s = s.dropFirst() }
        return String(s)
    }

    /// Why `title` cannot be an AE title, or nil when it can.
    public static func problem(_ title: String) -> String? {
        guard title.utf8.count <= 16 else { return "must be at most 16 characters" }
        guard title.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F && $0 != "\\" }) else {
            return "must be printable ASCII without a backslash"
        }
        guard !normalized(title).isEmpty else { return "must not be empty or only spaces" }
        return nil
    }
}

/// A DICOM node to register, or the fields to change (PATCH: absent fields are kept).
public struct DICOMNodeInput: Sendable, Codable {
    public var aeTitle: String?
    public var host: String?
    public var port: Int?
    public var kind: DICOMNodeKind?
    public var description: String?

    public init(
        aeTitle: String? = nil, host: String? = nil, port: Int? = nil, kind: DICOMNodeKind? = nil,
        description: String? = nil
    ) {
        self.aeTitle = aeTitle
        self.host = host
        self.port = port
        self.kind = kind
        self.description = description
    }

    enum CodingKeys: String, CodingKey {
        case host, port, kind, description
        case aeTitle = "ae_title"
    }

    /// A new node of `institutionId`, every field checked.
    public func validatedNew(id: String, institutionId: String, now: Timestamp) throws(HubError) -> DICOMNode {
        var v = Validator()
        let title = v.require(aeTitle, "ae_title")
        let host = v.require(host, "host")
        let port = v.require(port, "port")
        let kind = v.require(kind, "kind")
        check(&v)
        try v.check()
        return DICOMNode(
            id: id, institutionId: institutionId, aeTitle: AETitleRules.normalized(title!), host: host!, port: port!,
            kind: kind!, description: description, createdAt: now, updatedAt: now)
    }

    /// `node` with the fields present here changed, every one checked.
    public func applied(to node: DICOMNode, now: Timestamp) throws(HubError) -> DICOMNode {
        var v = Validator()
        check(&v)
        try v.check()
        var next = node
        if let aeTitle { next.aeTitle = AETitleRules.normalized(aeTitle) }
        if let host { next.host = host }
        if let port { next.port = port }
        if let kind { next.kind = kind }
        if let description { next.description = description }
        next.updatedAt = now
        return next
    }

    private func check(_ v: inout Validator) {
        if let aeTitle, let problem = AETitleRules.problem(aeTitle) { v.fail("ae_title", problem) }
        if let host, let problem = NodeHost.problem(host) { v.fail("host", problem) }
        if let port, !(1...65535).contains(port) { v.fail("port", "must be 1 to 65535") }
        if let description { _ = v.text(description, "description", maxLength: 200) }
    }
}

/// The address of a node: an IPv4 or IPv6 address, or a host name of letters, digits, hyphens and dots.
public enum NodeHost {
    public static func problem(_ host: String) -> String? {
        guard !host.isEmpty, host.utf8.count <= 253 else { return "must be 1 to 253 characters" }
        if host.contains(":") {
            let hexOrColon = host.unicodeScalars.allSatisfy {
                $0 == ":" || $0 == "." || ($0.isASCII && ($0.properties.isASCIIHexDigit))
            }
            return hexOrColon ? nil : "is not an IPv6 address"
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= 63,
                label.unicodeScalars.allSatisfy({
                    $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "-")
                }),
                label.first != "-", label.last != "-"
            else { return "must be an IP address or a host name (letters, digits, hyphens, dots)" }
        }
        return nil
    }
}
