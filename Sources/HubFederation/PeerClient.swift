import CurlHTTP
import Foundation
import HubCore

/// Sends signed requests to peer hubs through the libcurl client.
public struct PeerClient: Sendable {
    public let identity: HubIdentity
    public let http: CurlHTTPClient
    public let clock: @Sendable () -> Timestamp
    /// Whether peers may be reached over plain `http://` (`federation.allow_plain_http`); otherwise only `https://`.
    public let allowPlainHTTP: Bool
    /// Checks the peer's address before each request and pins libcurl to the addresses checked.
    public let outbound: OutboundAddressPolicy

    public init(
        identity: HubIdentity, http: CurlHTTPClient, allowPlainHTTP: Bool = false,
        clock: @escaping @Sendable () -> Timestamp,
        outbound: OutboundAddressPolicy = OutboundAddressPolicy(allowInternal: false)
    ) {
        self.identity = identity
        self.http = http
        self.allowPlainHTTP = allowPlainHTTP
        self.clock = clock
        self.outbound = outbound
    }

    /// One signed request for `peer`; `path` is the request target (a query string included, and signed);
    /// `origin` and `hops` carry a request on through further hubs. A peer whose address is plain `http://` is not
    /// called unless the configuration allows it.
    public func send(
        _ peer: Peer, method: String, path: String, body: Data = Data(), requestId: String? = nil,
        origin: String? = nil,
        hops: Int = 0, timeout: Duration = .seconds(10)
    ) async throws -> CurlResponse {
        if let problem = CallbackURL.problem(peer.url, allowPlainHTTP: allowPlainHTTP) {
            throw PlainPeerAddress(description: "peer \(peer.id)'s address \(problem)")
        }
        let url = peer.url + path
        let pin = try await outbound.check(url)
        let now = clock()
        var headers = identity.sign(
            method: method, target: path, destination: peer.id, body: body,
            requestId: requestId ?? GeneratedID.make("req", at: now), origin: origin, hops: hops, now: now)
        if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
        return try await http.execute(
            CurlRequest(
                method: method, url: url, headers: headers,
                body: body.isEmpty ? .none : .bytes(Array(body)),
                timeout: timeout, resolve: pin.curlResolve))
    }
}

/// A peer or webhook address this hub will not call as configured (plain `http://` while it is not allowed).
public struct PlainPeerAddress: Error, CustomStringConvertible {
    public var description: String
}
