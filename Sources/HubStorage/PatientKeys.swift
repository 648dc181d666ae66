import Crypto
import Foundation
import HubCore

/// Indexes patients by a keyed hash of their identifiers, so the lookup tables alone do not reveal who the
/// patients are. The key lives outside the database (a file in the data directory, or configuration).
public struct PatientKeys: Sendable {
    /// HMAC-SHA256 already keyed: each identifier starts from a copy, without hashing the key again.
    private let keyed: Keyed

    private final class Keyed: @unchecked Sendable {
        // Never mutated: each use copies it.
        let hmac: HMAC<SHA256>

        init(_ key: SymmetricKey) { hmac = HMAC<SHA256>(key: key) }
    }

    public init(secret: Data) {
        self.keyed = Keyed(SymmetricKey(data: secret))
    }

    /// The index key of one identifier: HMAC-SHA256 over `system|value`.
    public func key(for identifier: PatientIdentifier) -> String {
        var mac = keyed.hmac
        mac.update(data: Array("\(identifier.system)|\(identifier.value)".utf8))
        return mac.finalize().withUnsafeBytes(Hex.encode)
    }

    public func keys(for patient: Patient) -> [String] {
        Array(Set(patient.identifiers.map(key(for:)))).sorted()
    }

    /// Each distinct identifier of the patient with its key, in the patient's order.
    public func keyed(_ patient: Patient) -> [(key: String, identifier: PatientIdentifier)] {
        var seen = Set<String>()
        return patient.identifiers.compactMap { identifier in
            let key = key(for: identifier)
            return seen.insert(key).inserted ? (key, identifier) : nil
        }
    }

    /// The key of a patient's name, birth date and sex, when the name and birth date are known: weak evidence that
    /// two persons are one, never enough to link them. Names are compared without white space, HL7 component marks
    /// and case (`Zhang San`, `ZHANG^SAN` and `zhangsan` are one name).
    public func demographicKey(for patient: Patient) -> String? {
        guard let name = patient.name, let birthDate = patient.birthDate else { return nil }
        let folded = String(
            String.UnicodeScalarView(
                name.unicodeScalars.filter { !$0.properties.isWhitespace && $0 != "^" && $0 != "·" && $0 != "." })
        ).uppercased()
        guard !folded.isEmpty else { return nil }
        var mac = keyed.hmac
        mac.update(data: Array("demographics|\(folded)|\(birthDate)|\(patient.sex?.rawValue ?? "")".utf8))
        return mac.finalize().withUnsafeBytes(Hex.encode)
    }

    /// Reads the key file, creating it (32 random bytes, mode 0600 from its first byte) when absent. A file that
    /// exists but cannot be read or does not hold a key of at least 16 bytes stops the start (`SecretFile.Unusable`,
    /// naming the file): a new key would make every stored patient key unfindable.
    public static func loadOrCreate(path: String) throws -> PatientKeys {
        try SecretFile.loadOrCreate(
            path,
            decode: { data in
                guard let secret = Data(base64Encoded: data.trimmedASCII), secret.count >= 16 else { return nil }
                return PatientKeys(secret: secret)
            },
            make: {
                var generator = SystemRandomNumberGenerator()
                let secret = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
                return (PatientKeys(secret: secret), Data(secret.base64EncodedString().utf8))
            })
    }
}

extension Data {
    fileprivate var trimmedASCII: Data {
        Data(self.filter { !($0 == 10 || $0 == 13 || $0 == 32) })
    }
}
