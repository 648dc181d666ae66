import Crypto
import Foundation
import HubCore

/// The one spelling of the hub's Ed25519 keys: the key file (`federation.key_file`) holds base64 of the raw private
/// key, with white space around it; peers publish base64 of the raw public key. The hub, `hubctl` and a restore all
/// read them here.
public enum HubKeys {
    /// The private key a key file's bytes hold, or nil when they hold none.
    public static func privateKey(fileContents data: Data) -> Curve25519.Signing.PrivateKey? {
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let raw = Data(base64Encoded: text) else { return nil }
        return try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
    }

    /// The bytes a key file holds for `key`.
    public static func fileContents(for key: Curve25519.Signing.PrivateKey) -> Data {
        Data((key.rawRepresentation.base64EncodedString() + "\n").utf8)
    }

    /// The public half of the key in the file at `path`, for a tool that checks what the hub signed.
    public static func publicKey(keyFile path: String) throws -> Curve25519.Signing.PublicKey {
        guard let data = FileManager.default.contents(atPath: path), let key = privateKey(fileContents: data) else {
            throw HubError.unavailable("cannot read the hub key file \(path)")
        }
        return key.publicKey
    }

    /// A public key as a peer publishes it, or nil when the text is not one.
    public static func publicKey(base64: String) -> Curve25519.Signing.PublicKey? {
        Data(base64Encoded: base64).flatMap { try? Curve25519.Signing.PublicKey(rawRepresentation: $0) }
    }
}
