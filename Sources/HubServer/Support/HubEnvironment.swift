import Crypto
import CurlHTTP
import Foundation
import GRDB
import HTTPTypes
import HubConfig
import HubCore
import HubFederation
import HubStore
import Hummingbird
import Logging

/// What every controller needs: configuration, the database, the catalog, and the clock.
public struct HubEnvironment: Sendable {
    public let config: HubConfiguration
    public let database: AppDatabase
    public let catalog: CatalogStore
    public let clock: @Sendable () -> Timestamp
    public let logger: Logger
    /// Wakes the outbox worker when a write enqueues a delivery.
    public let outbox: OutboxSignal
    /// Keyed hashes of patient identifiers.
    public let patientKeys: PatientKeys
    /// Attachments on disk.
    public let blobs: BlobStore
    /// This hub's identity and signing key among its peers.
    public let identity: HubIdentity
    /// The libcurl client every outgoing request goes through.
    public let http: CurlHTTPClient
    /// Wakes the peer directory refresher (a peer added or changed, an operator's refresh).
    public let directorySignal = OutboxSignal()
    /// Recent answer times of each peer.
    public let peerLatencies = PeerLatencies()
    /// Refused federation requests and bearer tokens, counted, and written down at most once a minute per origin
    /// and reason.
    public let refusals = RefusalLog()
    /// Which addresses webhooks, escalations and peers may have (`outbound.allow_internal_addresses`).
    public let outbound: OutboundAddressPolicy
    /// The memory all uploads in progress share (`uploads.memory_budget_bytes`).
    public let uploadMemory: UploadMemory

    public init(
        config: HubConfiguration, database: AppDatabase, catalog: CatalogStore = CatalogStore(),
        outbox: OutboxSignal = OutboxSignal(), patientKeys: PatientKeys, blobs: BlobStore, identity: HubIdentity,
        http: CurlHTTPClient, clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() }, logger: Logger,
        outboundResolver: OutboundAddressPolicy.Resolver? = nil
    ) {
        self.outbound = OutboundAddressPolicy(
            allowInternal: config.outboundAllowInternalAddresses,
            resolver: outboundResolver ?? OutboundAddressPolicy.systemResolver)
        self.uploadMemory = UploadMemory(budget: config.uploadMemoryBudgetBytes)
        self.config = config
        self.http = http
        self.patientKeys = patientKeys
        self.blobs = blobs
        self.identity = identity
        self.database = database
        self.catalog = catalog
        self.outbox = outbox
        self.clock = clock
        self.logger = logger
    }

    /// Signed requests to peer hubs.
    public var peerClient: PeerClient {
        PeerClient(
            identity: identity, http: http, allowPlainHTTP: config.federationAllowPlainHTTP, clock: clock,
            outbound: outbound)
    }

    /// Adds a delivery to the outbox inside the caller's transaction.
    @discardableResult
    /// `path` is appended to a peer's address; `idempotencyKey` (default: the delivery's id) lets the receiver
    /// drop repeats of the same message.
    func enqueue(
        _ db: Database, destination: String, kind: String, subject: String?, path: String? = nil,
        idempotencyKey: String? = nil, body: some Encodable, now: Timestamp
    ) throws -> OutboxDelivery {
        try OutboxStore.enqueue(
            db, destination: destination, kind: kind, subject: subject, path: path, body: try HubJSON.encode(body),
            idempotencyKey: idempotencyKey, policy: config.retryPolicy, now: now, signal: outbox)
    }

    /// Today's date in the hub's civil time.
    func today(at time: Timestamp) -> CivilDate { time.civilDate(utcOffsetMinutes: config.utcOffsetMinutes) }

    /// Runs a creating write with `Idempotency-Key` support: the same key and body replays the first answer and
    /// writes nothing; the same key with another body is refused. The replay lookup, the write, the audit record
    /// and the remembered answer all commit in one transaction.
    func create<T: Encodable & Sendable>(
        _ request: Request, _ context: HubRequestContext, body: Data, status: HTTPResponse.Status = .created,
        _ perform: @escaping @Sendable (Database, Timestamp) throws -> T
    ) async throws -> Response {
        let key = try Self.idempotencyKey(request)
        let principal = try context.caller()
        let scope = principal.practitionerId ?? principal.tokenId
        let method = request.method.rawValue
        let path = request.uri.path
        // Only a keyed request is ever compared with an earlier one, so only it pays for the canonical digest.
        let digest = key == nil ? "" : Self.canonicalDigest(body)
        let now = clock()
        let (code, data, replayed) = try await database.write { db -> (Int, Data, Bool) in
            if let key,
                let replay = try IdempotencyStore.replay(
                    db, scope: scope, key: key, method: method, path: path, bodyDigest: digest)
            {
                return (replay.status, replay.body, true)
            }
            let value = try perform(db, now)
            let data = try HubJSON.encode(value)
            if let key {
                try IdempotencyStore.save(
                    db, scope: scope, key: key, method: method, path: path, bodyDigest: digest, status: status.code,
                    body: data, now: now)
            }
            return (status.code, data, false)
        }
        var headers = HTTPFields()
        if replayed { headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
        return JSONIO.response(data: data, status: .init(code: code), headers: headers)
    }

    /// A digest of the body's meaning: key order and white space do not change it, so a client that rebuilds the
    /// same JSON for a retry is recognised.
    static func canonicalDigest(_ body: Data) -> String {
        var canonical = body
        if let object = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]),
            let sorted = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed])
        {
            canonical = sorted
        }
        return SHA256.hash(data: canonical).withUnsafeBytes(Hex.encode)
    }

    static func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers[HTTPField.Name("Idempotency-Key")!] else { return nil }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw HubError.validation("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
        }
        return key
    }
}
