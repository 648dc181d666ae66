/// What an institution sends to register its callback.
public struct WebhookInput: Sendable, Codable {
    public var url: String?
    public var secret: String?
    public var escalationURL: String?

    public init(url: String? = nil, secret: String? = nil, escalationURL: String? = nil) {
        self.url = url
        self.secret = secret
        self.escalationURL = escalationURL
    }

    enum CodingKeys: String, CodingKey {
        case url, secret
        case escalationURL = "escalation_url"
    }

    /// Checks the input; `hasSecret` says whether a secret is already stored (then it may be left out to keep it);
    /// `allowPlainHTTP` (`federation.allow_plain_http`) lets the URLs be plain `http://`.
    public func validate(hasSecret: Bool, allowPlainHTTP: Bool) throws(HubError) {
        var v = Validator()
        if let url {
            if let problem = CallbackURL.problem(url, allowPlainHTTP: allowPlainHTTP) { v.fail("url", problem) }
        } else {
            v.fail("url", "is required")
        }
        if let escalationURL, let problem = CallbackURL.problem(escalationURL, allowPlainHTTP: allowPlainHTTP) {
            v.fail("escalation_url", problem)
        }
        if let secret {
            if !(16...256).contains(secret.utf8.count) { v.fail("secret", "must be 16 to 256 bytes") }
        } else if !hasSecret {
            v.fail("secret", "is required: deliveries are signed with it")
        }
        try v.check()
    }
}

/// An absolute https URL a hub may call (or http, where the configuration allows plain HTTP): no credentials in
/// it, a host, bounded length.
public enum CallbackURL {
    public static func problem(_ url: String, allowPlainHTTP: Bool) -> String? {
        guard url.utf8.count <= 2048 else { return "must be at most 2048 characters" }
        let lower = url.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
            return allowPlainHTTP ? "must be an http:// or https:// URL" : "must be an https:// URL"
        }
        if !allowPlainHTTP && lower.hasPrefix("http://") {
            return "must be an https:// URL: plain http:// is allowed only with federation.allow_plain_http"
        }
        let rest = url[url.index(url.startIndex, offsetBy: lower.hasPrefix("https://") ? 8 : 7)...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.isEmpty { return "must name a host" }
        if authority.contains("@") { return "must not carry credentials; the hub signs deliveries instead" }
        if url.unicodeScalars.contains(where: {
            $0.properties.isWhitespace || $0.properties.generalCategory == .control
        }) {
            return "must not contain spaces or control characters"
        }
        return nil
    }
}
