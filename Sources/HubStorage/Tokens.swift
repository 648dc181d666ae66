import Crypto
import Foundation
import HubCore

/// A bearer token's metadata. The secret itself is never stored: only its SHA-256 digest.
public struct TokenRecord: Sendable, Codable, Equatable {
    public var id: String
    public var practitionerId: String?
    public var institutionId: String?
    public var roles: [Role]
    public var label: String?
    public var createdAt: Timestamp
    public var createdBy: String?
    public var revokedAt: Timestamp?
    /// When the token stops working; nil for a token without expiry (tokens issued before expiry existed).
    public var expiresAt: Timestamp?

    public init(
        id: String, practitionerId: String? = nil, institutionId: String? = nil, roles: [Role], label: String? = nil,
        createdAt: Timestamp, createdBy: String? = nil, revokedAt: Timestamp? = nil, expiresAt: Timestamp? = nil
    ) {
        self.id = id
        self.practitionerId = practitionerId
        self.institutionId = institutionId
        self.roles = roles
        self.label = label
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.revokedAt = revokedAt
        self.expiresAt = expiresAt
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encodeIfPresent(practitionerId, forKey: .practitionerId)
        try c.encodeIfPresent(institutionId, forKey: .institutionId)
        try c.encode(roles, forKey: .roles)
        try c.encodeIfPresent(label, forKey: .label)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encodeIfPresent(createdBy, forKey: .createdBy)
        try c.encodeIfPresent(revokedAt, forKey: .revokedAt)
        // Always present, null for no expiry, so a client sees the token's lifetime at a glance.
        try c.encode(expiresAt, forKey: .expiresAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, roles, label
        case practitionerId = "practitioner_id"
        case institutionId = "institution_id"
        case createdAt = "created_at"
        case createdBy = "created_by"
        case revokedAt = "revoked_at"
        case expiresAt = "expires_at"
    }
}

/// Bearer tokens: their secrets and the digests they are found by.
public enum TokenStore {
    /// A new random secret: 32 bytes from the system CSPRNG, base64url, with a recognisable prefix so leaked
    /// tokens can be found by secret scanners.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        for _ in 0..<4 {
            let word = generator.next()
            for shift in stride(from: 0, to: 64, by: 8) {
                bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
        let base64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "hub_" + base64
    }

    public static func digest(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).withUnsafeBytes(Hex.encode)
    }
}
