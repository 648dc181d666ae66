import Foundation
import HubCore
import HubStore

/// Where one attempt goes and the headers that authenticate it.
public struct ResolvedDestination: Sendable {
    public var url: String
    public var headers: [(name: String, value: String)]

    public init(url: String, headers: [(name: String, value: String)] = []) {
        self.url = url
        self.headers = headers
    }
}

/// A destination that cannot be reached as configured (no webhook registered, unknown peer): the delivery is dead
/// until an operator fixes the configuration and replays it.
public struct UnroutableDelivery: Error, CustomStringConvertible {
    public var description: String
}

/// Looks up a destination's current address at each attempt, so a corrected webhook URL or rotated secret applies to
/// deliveries that were already waiting.
public struct DestinationResolver: Sendable {
    let database: AppDatabase
    let clock: @Sendable () -> Timestamp

    public init(database: AppDatabase, clock: @escaping @Sendable () -> Timestamp) {
        self.database = database
        self.clock = clock
    }

    public func resolve(_ delivery: OutboxDelivery) async throws -> ResolvedDestination {
        let (scheme, name) = Self.split(delivery.destination)
        switch scheme {
        case "url":
            guard let url = delivery.url else { throw UnroutableDelivery(description: "the delivery has no URL") }
            return ResolvedDestination(url: url)
        case "webhook", "escalation":
            guard let webhook = try await database.read({ try WebhookStore.webhook($0, institutionId: name) }) else {
                throw UnroutableDelivery(description: "institution '\(name)' has no webhook registered")
            }
            let url = scheme == "escalation" ? (webhook.escalationURL ?? webhook.url) : webhook.url
            let timestamp = clock().millisecondsSinceEpoch / 1000
            let signature = WebhookSignature.sign(secret: webhook.secret, timestamp: timestamp, body: delivery.body)
            return ResolvedDestination(url: url, headers: [(WebhookSignature.header, signature)])
        default:
            throw UnroutableDelivery(description: "no route to destination '\(delivery.destination)'")
        }
    }

    /// `webhook:wh-xiehe` → ("webhook", "wh-xiehe").
    static func split(_ destination: String) -> (String, String) {
        guard let colon = destination.firstIndex(of: ":") else { return (destination, "") }
        return (String(destination[..<colon]), String(destination[destination.index(after: colon)...]))
    }
}
