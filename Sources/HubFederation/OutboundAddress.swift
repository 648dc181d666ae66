import Dispatch
import Foundation
import HubCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why an address is not one the hub may call: loopback, link-local, private, shared (CGNAT), unspecified, multicast,
/// broadcast or reserved ranges, their IPv4-mapped IPv6 forms, and the cloud metadata addresses. Such addresses reach
/// the hub's own machine or its internal network, not an institution's receiver.
public enum InternalAddress {
    /// The kind of internal address `numeric` (an IPv4 or IPv6 literal, IPv6 without brackets) is; nil for a public
    /// one, and for text that is not an address literal.
    public static func kind(_ numeric: String) -> String? {
        if let v4 = ipv4(numeric) { return kind(v4: v4) }
        if let v6 = ipv6(numeric) { return kind(v6: v6) }
        return nil
    }

    /// The four bytes of an IPv4 literal in dotted-quad form.
    static func ipv4(_ text: String) -> [UInt8]? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    /// The sixteen bytes of an IPv6 literal (a zone index such as `%eth0` is ignored).
    static func ipv6(_ text: String) -> [UInt8]? {
        let bare = text.split(separator: "%", maxSplits: 1).first.map(String.init) ?? text
        var address = in6_addr()
        guard inet_pton(AF_INET6, bare, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    static func kind(v4 b: [UInt8]) -> String? {
        switch (b[0], b[1]) {
        case (0, _): return b == [0, 0, 0, 0] ? "unspecified" : "reserved (0.0.0.0/8)"
        case (127, _): return "loopback"
        case (10, _): return "private (10.0.0.0/8)"
        case (172, 16...31): return "private (172.16.0.0/12)"
        case (192, 168): return "private (192.168.0.0/16)"
        case (169, 254): return b == [169, 254, 169, 254] ? "cloud metadata" : "link-local"
        case (100, 64...127): return b == [100, 100, 100, 200] ? "cloud metadata" : "shared (100.64.0.0/10, CGNAT)"
        case (192, 0) where b[2] == 0: return "reserved (192.0.0.0/24)"
        case (224...239, _): return "multicast"
        case (240...255, _): return b == [255, 255, 255, 255] ? "broadcast" : "reserved (240.0.0.0/4)"
        default: return nil
        }
    }

    static func kind(v6 b: [UInt8]) -> String? {
        let zeroPrefix = b[0..<10].allSatisfy { $0 == 0 }
        // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible) reach the IPv4 address.
        if zeroPrefix && b[10] == 0xFF && b[11] == 0xFF { return kind(v4: Array(b[12..<16])) }
        if zeroPrefix && b[10] == 0 && b[11] == 0 {
            if b[12..<16].allSatisfy({ $0 == 0 }) { return "unspecified" }
            if b[12..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return "loopback" }
            return kind(v4: Array(b[12..<16])) ?? "reserved (IPv4-compatible)"
        }
        if b == [0xFD, 0x00, 0x0E, 0xC2] + [UInt8](repeating: 0, count: 10) + [0x02, 0x54] { return "cloud metadata" }
        if b[0] & 0xFE == 0xFC { return "private (fc00::/7)" }
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return "link-local" }
        if b[0] == 0xFE && b[1] & 0xC0 == 0xC0 { return "site-local" }
        if b[0] == 0xFF { return "multicast" }
        return nil
    }
}

/// The host and port of an `http://` or `https://` URL, as libcurl reads them.
public struct URLAuthority: Sendable, Equatable {
    /// Lower-cased, without the brackets of an IPv6 literal or a final dot.
    public var host: String
    public var port: Int
    /// The host is an IPv4 or IPv6 literal (nothing to resolve).
    public var isLiteral: Bool { InternalAddress.ipv4(host) != nil || InternalAddress.ipv6(host) != nil }

    public init?(_ url: String) {
        let lower = url.lowercased()
        let secure = lower.hasPrefix("https://")
        guard secure || lower.hasPrefix("http://") else { return nil }
        let rest = lower.dropFirst(secure ? 8 : 7)
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { return nil }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        while host.hasSuffix(".") { host = host.dropLast() }
        guard !host.isEmpty else { return nil }
        let port: Int
        if let portText, !portText.isEmpty {
            guard let n = Int(portText), (1...65535).contains(n) else { return nil }
            port = n
        } else {
            port = secure ? 443 : 80
        }
        self.host = String(host)
        self.port = port
    }
}

/// An outgoing address the hub refuses to call.
public struct OutboundAddressRefused: Error, CustomStringConvertible, Sendable {
    public var host: String
    public var address: String
    public var kind: String
    public var description: String {
        let via = host == address ? "" : " (\(host) resolves to \(address))"
        return "refused: \(address) is a \(kind) address\(via); the hub calls only public addresses "
            + "unless outbound.allow_internal_addresses is set"
    }
}

/// The addresses a name could not be resolved to.
public struct OutboundNameUnresolved: Error, CustomStringConvertible, Sendable {
    public var host: String
    public var detail: String
    public var description: String { "cannot resolve \(host): \(detail)" }

    public init(host: String, detail: String) {
        self.host = host
        self.detail = detail
    }
}

/// Where the hub may send requests: every webhook, escalation and peer URL is checked when it is saved and again at
/// every attempt, after the name is resolved, and libcurl is then pinned to the addresses checked (so a name that
/// resolves to a public address when checked and to an internal one a moment later, DNS rebinding, still reaches
/// only the address checked).
public struct OutboundAddressPolicy: Sendable {
    /// Numeric addresses of a host name.
    public typealias Resolver = @Sendable (String) async throws -> [String]

    /// `outbound.allow_internal_addresses`: internal addresses are allowed (tests, demos on one machine).
    public var allowInternal: Bool
    public var resolver: Resolver

    public init(allowInternal: Bool, resolver: @escaping Resolver = OutboundAddressPolicy.systemResolver) {
        self.allowInternal = allowInternal
        self.resolver = resolver
    }

    /// What a request to a checked URL connects to.
    public struct Pin: Sendable, Equatable {
        public var authority: URLAuthority
        /// The checked addresses of a named host; empty for a literal.
        public var addresses: [String]

        /// The `CURLOPT_RESOLVE` entries that keep libcurl on the checked addresses.
        public var curlResolve: [String] {
            guard !addresses.isEmpty else { return [] }
            let list = addresses.map { $0.contains(":") ? "[\($0)]" : $0 }.joined(separator: ",")
            return ["\(authority.host):\(authority.port):\(list)"]
        }
    }

    /// Resolves the URL's host and checks every address; throws `OutboundAddressRefused` when one is internal (and
    /// internal addresses are not allowed), `OutboundNameUnresolved` when the name has no address.
    public func check(_ url: String) async throws -> Pin {
        guard let authority = URLAuthority(url) else {
            throw OutboundNameUnresolved(host: url, detail: "the URL names no host")
        }
        if authority.isLiteral {
            if !allowInternal, let kind = InternalAddress.kind(authority.host) {
                throw OutboundAddressRefused(host: authority.host, address: authority.host, kind: kind)
            }
            return Pin(authority: authority, addresses: [])
        }
        let addresses: [String]
        do { addresses = try await resolver(authority.host) } catch let error as OutboundNameUnresolved {
            throw error
        } catch {
            throw OutboundNameUnresolved(host: authority.host, detail: "\(error)")
        }
        guard !addresses.isEmpty else { throw OutboundNameUnresolved(host: authority.host, detail: "no address") }
        if !allowInternal {
            for address in addresses {
                if let kind = InternalAddress.kind(address) {
                    throw OutboundAddressRefused(host: authority.host, address: address, kind: kind)
                }
            }
        }
        return Pin(authority: authority, addresses: addresses)
    }

    /// The problem to answer a URL field with at save time, or nil when it may be saved. A name that does not
    /// resolve now is accepted: it is checked again at every attempt.
    public func problem(_ url: String) async -> String? {
        guard !allowInternal else { return nil }
        do {
            _ = try await check(url)
            return nil
        } catch let error as OutboundAddressRefused {
            let via = error.host == error.address ? "" : " (\(error.host) resolves to \(error.address))"
            return "must not point at a \(error.kind) address\(via): the hub calls only public addresses"
        } catch {
            return nil
        }
    }

    /// getaddrinfo, run off the cooperative pool.
    public static let systemResolver: Resolver = { host in
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[String], any Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try getAddresses(host) })
            }
        }
    }

    static func getAddresses(_ host: String) throws -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            throw OutboundNameUnresolved(host: host, detail: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var addresses: [String] = []
        var entry = list
        while let current = entry {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if let address = current.pointee.ai_addr,
                getnameinfo(
                    address, current.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0
            {
                let text = String(cString: buffer)
                if !addresses.contains(text) { addresses.append(text) }
            }
            entry = current.pointee.ai_next
        }
        return addresses
    }
}
