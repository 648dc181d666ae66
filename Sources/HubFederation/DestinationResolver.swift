import CurlHTTP
import Foundation
import HubCore
import HubStorage

/// Where one attempt goes and the headers that authenticate it.
public struct ResolvedDestination: Sendable {
    public var url: String
    public var headers: [(name: String, value: String)]
    /// The stored blob to send as the body instead of the delivery's bytes.
    public var blob: BlobContent?
    /// Why a 2xx answer cannot be taken as delivered (a peer's answer that it did not sign), or nil when it can.
    public var refusal: @Sendable (CurlResponse) -> String?

    public init(
        url: String, headers: [(name: String, value: String)] = [], blob: BlobContent? = nil,
        refusal: @escaping @Sendable (CurlResponse) -> String? = { _ in nil }
    ) {
        self.url = url
        self.headers = headers
        self.blob = blob
        self.refusal = refusal
    }
}

/// A destination that cannot be reached as configured (no webhook registered, unknown peer): the delivery is dead
/// until an operator fixes the configuration and replays it.
public struct UnroutableDelivery: Error, CustomStringConvertible {
    public var description: String
}

/// A peer that is suspended for now: its deliveries are retried later.
public struct PeerInactive: Error, CustomStringConvertible {
    public var peer: String
    public var description: String { "peer '\(peer)' is not active; the delivery waits" }
}

/// Looks up a destination's current address at each attempt, so a corrected webhook URL or rotated secret applies to
/// deliveries that were already waiting.
public struct DestinationResolver: Sendable {
    let database: any Storage
    let clock: @Sendable () -> Timestamp
    let identity: HubIdentity?
    let blobs: BlobStore?
    let allowPlainHTTP: Bool

    /// `identity` signs deliveries to peer hubs; `blobs` holds the files of deliveries sent from a stored blob;
    /// `allowPlainHTTP` (`federation.allow_plain_http`) lets webhooks and peers be reached over plain `http://`.
    public init(
        database: any Storage, clock: @escaping @Sendable () -> Timestamp, identity: HubIdentity? = nil,
        blobs: BlobStore? = nil, allowPlainHTTP: Bool = false
    ) {
        self.database = database
        self.clock = clock
        self.identity = identity
        self.blobs = blobs
        self.allowPlainHTTP = allowPlainHTTP
    }

    /// A webhook or peer address stored before plain HTTP was turned off is not called: the delivery is dead until
    /// the address is corrected (or the configuration allows it again) and the delivery replayed.
    func requireAllowed(_ url: String, of what: String) throws {
        if let problem = CallbackURL.problem(url, allowPlainHTTP: allowPlainHTTP) {
            throw UnroutableDelivery(description: "\(what)'s address \(problem)")
        }
    }

    public func resolve(_ delivery: OutboxDelivery) async throws -> ResolvedDestination {
        let destination = Destination(delivery.destination)
        switch destination {
        case .url:
            guard let url = delivery.url else { throw UnroutableDelivery(description: "the delivery has no URL") }
            return ResolvedDestination(url: url)
        case .webhook(let name), .escalation(let name):
            guard let webhook = try await database.read({ try $0.webhook(institutionId: name) }) else {
                throw UnroutableDelivery(description: "institution '\(name)' has no webhook registered")
            }
            let escalating = destination == .escalation(institutionId: name)
            let url = escalating ? (webhook.escalationURL ?? webhook.url) : webhook.url
            try requireAllowed(url, of: "the webhook of '\(name)'")
            let timestamp = clock().millisecondsSinceEpoch / 1000
            let signature = WebhookSignature.sign(secret: webhook.secret, timestamp: timestamp, body: delivery.body)
            return ResolvedDestination(url: url, headers: [(WebhookSignature.header, signature)])
        case .peer(let name):
            guard let identity else { throw UnroutableDelivery(description: "this hub has no federation identity") }
            guard let peer = try await database.read({ try $0.peer(id: name) }) else {
                throw UnroutableDelivery(description: "'\(name)' is not a known peer")
            }
            // A suspended peer's deliveries wait (retried with backoff) rather than die: it may come back.
            guard peer.status == .active else { throw PeerInactive(peer: name) }
            try requireAllowed(peer.url, of: "peer '\(name)'")
            guard let path = delivery.path else { throw UnroutableDelivery(description: "the delivery has no path") }
            var blob: BlobContent?
            var digest = FederationEnvelope.digest(delivery.body)
            if let sha = delivery.bodyFile {
                let missing = UnroutableDelivery(description: "blob \(sha) is not in the blob store")
                guard let blobs else { throw missing }
                let content = try await database.blobContent(sha256: sha, files: blobs)
                if case .file(let path) = content, !FileManager.default.fileExists(atPath: path) { throw missing }
                blob = content
                digest = sha
            }
            // A fresh request id per attempt: the peer refuses a repeated one; the delivery's idempotency key and
            // the peer's own keys make a repeated attempt harmless.
            let now = clock()
            let requestId = GeneratedID.make("req", at: now)
            let headers = identity.sign(
                method: delivery.method, target: path, destination: peer.id, bodyDigest: digest,
                requestId: requestId, now: now)
            // A 2xx that the peer did not sign for this request is not a delivery: anyone on the path could answer
            // one, and the exam or event would be lost. The attempt fails and is tried again.
            let requester = identity.hubId
            return ResolvedDestination(
                url: peer.url + path, headers: headers, blob: blob,
                refusal: { response in
                    FederationAnswer.problem(response, from: peer, requester: requester, requestId: requestId)
                        .map { "answer refused: \($0)" }
                })
        default:
            throw UnroutableDelivery(description: "no route to destination '\(delivery.destination)'")
        }
    }
}
