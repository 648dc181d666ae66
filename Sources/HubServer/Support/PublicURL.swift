import HTTPTypes
import HubConfig
import Hummingbird

/// The hub's base URL as a client reached it, for the links in answers (FHIR `fullUrl`, DICOMweb Retrieve URLs).
enum PublicURL {
    /// From the `Host` header when it is a plain host and port, with `https` when the TLS-terminating proxy in front
    /// says so (`X-Forwarded-Proto: https`); else the address the hub listens on.
    static func base(_ request: Request, _ config: HubConfiguration) -> String {
        let proto = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased()
        let scheme = proto == "https" ? "https" : "http"
        if let authority = request.head.authority, !authority.isEmpty, authority.utf8.count <= 255,
            authority.unicodeScalars.allSatisfy({
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-.:[]".unicodeScalars.contains($0))
            })
        {
            return scheme + "://" + authority
        }
        return "http://\(config.host):\(config.port)"
    }
}
