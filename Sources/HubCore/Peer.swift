/// Another hub (county, city, province, another province) this hub exchanges queries and exams with.
public struct Peer: Sendable, Codable, Equatable {
    public var id: String
    public var url: String
    /// Its Ed25519 public key, base64 of the raw 32 bytes, as `GET /federation/v1/identity` shows it.
    public var publicKey: String
    public var region: String
    /// What it serves, free labels such as `recognition`, `imaging`, `ecg`.
    public var serves: [String]
    public var status: RecordStatus
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: String, url: String, publicKey: String, region: String, serves: [String], status: RecordStatus = .active,
        createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.url = url
        self.publicKey = publicKey
        self.region = region
        self.serves = serves
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, url, region, serves, status
        case publicKey = "public_key"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

public struct PeerInput: Sendable, Codable, Equatable {
    public var id: String?
    public var url: String?
    public var publicKey: String?
    public var region: String?
    public var serves: [String]?
    public var status: RecordStatus?

    public init(
        id: String? = nil, url: String? = nil, publicKey: String? = nil, region: String? = nil,
        serves: [String]? = nil, status: RecordStatus? = nil
    ) {
        self.id = id
        self.url = url
        self.publicKey = publicKey
        self.region = region
        self.serves = serves
        self.status = status
    }

    enum CodingKeys: String, CodingKey {
        case id, url, region, serves, status
        case publicKey = "public_key"
    }

    /// The peer, or every field that is wrong; `allowPlainHTTP` (`federation.allow_plain_http`) lets its address be
    /// plain `http://`.
    public func validated(now: Timestamp, ownHubId: String, allowPlainHTTP: Bool) throws(HubError) -> Peer {
        var v = Validator()
        if let id {
            if !ResourceID.isValid(id) { v.fail("id", ResourceID.rule) }
            if id == ownHubId { v.fail("id", "is this hub's own id") }
        } else {
            v.fail("id", "is required")
        }
        if let url {
            if let problem = CallbackURL.problem(url, allowPlainHTTP: allowPlainHTTP) { v.fail("url", problem) }
        } else {
            v.fail("url", "is required")
        }
        if let key = publicKey {
            let valid =
                key.utf8.count == 44 && key.hasSuffix("=")
                && key.unicodeScalars.allSatisfy {
                    $0.isASCII
                        && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "+/=".unicodeScalars.contains($0))
                }
            if !valid { v.fail("public_key", "must be an Ed25519 public key: base64 of 32 bytes") }
        } else {
            v.fail("public_key", "is required")
        }
        if let region {
            if RegionCode(region) == nil { v.fail("region", RegionCode.rule) }
        } else {
            v.fail("region", "is required")
        }
        try v.check()
        var base = url!
        while base.hasSuffix("/") { base.removeLast() }
        return Peer(
            id: id!, url: base, publicKey: publicKey!, region: region!, serves: serves ?? ["recognition"],
            status: status ?? .active, createdAt: now, updatedAt: now)
    }
}
