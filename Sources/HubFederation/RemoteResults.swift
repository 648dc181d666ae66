import CurlHTTP
import Foundation
import HubCore
import HubStorage

/// A result held by a peer hub, fetched from it with a signed request: the record keeps its origin's identity and
/// recognition metadata. Any answer but the peer's own, signed, for this very result is a `peerFailed` error.
public struct RemoteResults: Sendable {
    let client: PeerClient
    let hubId: String
    let timeoutMilliseconds: Int
    let clock: @Sendable () -> Timestamp

    public init(
        client: PeerClient, hubId: String, timeoutMilliseconds: Int, clock: @escaping @Sendable () -> Timestamp
    ) {
        self.client = client
        self.hubId = hubId
        self.timeoutMilliseconds = timeoutMilliseconds
        self.clock = clock
    }

    public func result(_ id: String, at peer: Peer) async throws -> FederatedResult {
        let path = "/federation/v1/results/" + (id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? id)
        let response: CurlResponse
        let requestId = GeneratedID.make("req", at: clock())
        func failure(_ title: String, _ detail: String) -> HubError {
            HubError(code: "peer_unavailable", kind: .peerFailed, title: title, detail: detail)
        }
        do {
            response = try await client.send(
                peer, method: "GET", path: path, requestId: requestId,
                timeout: .milliseconds(max(timeoutMilliseconds, 5000)))
        } catch {
            throw failure(
                "Peer hub unavailable",
                "\(peer.id) did not answer: \(PeerFailure.describe(error, expected: "a result"))")
        }
        switch response.status {
        case 200: break
        case 404: throw HubError.notFound("result", id)
        default:
            throw failure(
                "Peer hub refused", "\(peer.id) answered \(PeerFailure.status(response.status, body: response.body))")
        }
        if let problem = FederationAnswer.problem(response, from: peer, requester: hubId, requestId: requestId) {
            throw failure("Peer hub answer refused", "\(peer.id): \(problem)")
        }
        let remote: FederatedResult
        do { remote = try HubJSON.decode(FederatedResult.self, from: Data(response.body)) } catch {
            throw failure("Peer hub answer unreadable", "\(peer.id) did not answer with a result")
        }
        guard remote.hubId == peer.id, remote.result.id == id else {
            throw failure("Peer hub answer mismatched", "\(peer.id) answered for another hub or result")
        }
        return remote
    }
}
