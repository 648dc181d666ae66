import Crypto
import Foundation
import HubCore

/// Signs what the hub sends to an institution's webhook, so the receiver can check it came from the hub and was
/// not altered or replayed late.
///
/// Header `X-Hub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The receiver recomputes
/// the HMAC over the timestamp, a dot and the raw body, compares in constant time, and refuses timestamps too far
/// from its clock.
public enum WebhookSignature {
    public static let header = "X-Hub-Signature"

    public static func sign(secret: String, timestamp: Int64, body: Data) -> String {
        "t=\(timestamp),v1=\(hex(mac(secret: secret, timestamp: timestamp, body: body)))"
    }

    /// Checks a signature header; `tolerance` bounds the age of the timestamp.
    public static func verify(
        header: String, secret: String, body: Data, now: Int64, tolerance: Int64 = 300
    ) -> Bool {
        var timestamp: Int64?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1" { signatures.append(pair[1]) }
        }
        guard let timestamp, abs(now - timestamp) <= tolerance else { return false }
        let expected = Data(mac(secret: secret, timestamp: timestamp, body: body))
        return signatures.contains { candidate in
            guard let bytes = unhex(candidate) else { return false }
            // HMAC's own comparison is constant-time.
            return HMAC<SHA256>.isValidAuthenticationCode(
                bytes, authenticating: Data("\(timestamp).".utf8) + body, using: SymmetricKey(data: Data(secret.utf8)))
                && bytes == expected
        }
    }

    static func mac(secret: String, timestamp: Int64, body: Data) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: Data(secret.utf8)))
        hmac.update(data: Data("\(timestamp).".utf8))
        hmac.update(data: body)
        return Array(hmac.finalize())
    }

    static func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }

    static func unhex(_ text: String) -> Data? {
        guard text.count % 2 == 0 else { return nil }
        var data = Data(capacity: text.count / 2)
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            data.append(byte)
            index = next
        }
        return data
    }
}
