import CurlHTTP
import Foundation
import HubCore

/// Sends signed requests to peer hubs through the libcurl client.
public struct PeerClient: Sendable {
    public let identity: HubIdentity
    public let http: CurlHTTPClient
    public let clock: @Sendable () -> Timestamp
    /// Checks the peer's address before each request and pins libcurl to the addresses checked.
    public let outbound: OutboundAddressPolicy

    public init(
        identity: HubIdentity, http: CurlHTTPClient, clock: @escaping @Sendable () -> Timestamp,
        outbound: OutboundAddressPolicy = OutboundAddressPolicy(allowInternal: false)
    ) {
        self.identity = identity
        self.http = http
        self.clock = clock
        self.outbound = outbound
    }

    /// One signed request; `origin` and `hops` carry a request on through further hubs.
    public func send(
        _ peer: Peer, method: String, path: String, body: Data = Data(), requestId: String? = nil,
        origin: String? = nil,
        hops: Int = 0, timeout: Duration = .seconds(10)
    ) async throws -> CurlResponse {
        let url = peer.url + path
        let pin = try await outbound.check(url)
        let now = clock()
        var headers = identity.sign(
            method: method, path: path, body: body, requestId: requestId ?? GeneratedID.make("req", at: now),
            origin: origin, hops: hops, now: now)
        if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
        return try await http.execute(
            CurlRequest(
                method: method, url: url, headers: headers,
                body: body.isEmpty ? .none : .bytes(Array(body)),
                timeout: timeout, resolve: pin.curlResolve))
    }
}
