import Crypto
import CurlHTTP
import Foundation
import GRDB
import HubConfig
import HubCore
import HubFederation
import HubStore
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
    /// `path` is appended to a peer's address; `idempotencyKey` (default: the delivery's id) lets the receiver
    /// drop repeats of the same message.
    @discardableResult
    public func enqueue(
        _ db: Database, destination: String, kind: String, subject: String?, path: String? = nil,
        idempotencyKey: String? = nil, body: some Encodable, now: Timestamp
    ) throws -> OutboxDelivery {
        try OutboxStore.enqueue(
            db, destination: destination, kind: kind, subject: subject, path: path, body: try HubJSON.encode(body),
            idempotencyKey: idempotencyKey, policy: config.retryPolicy, now: now, signal: outbox)
    }

    /// Today's date in the hub's civil time.
    public func today(at time: Timestamp) -> CivilDate { time.civilDate(utcOffsetMinutes: config.utcOffsetMinutes) }
}

extension HubEnvironment {
    /// The peers' directories, as this hub fetches them.
    public var peerDirectory: PeerDirectory {
        PeerDirectory(
            database: database, client: peerClient, latencies: peerLatencies, hubId: config.hubId,
            refreshSeconds: config.federationDirectoryRefreshSeconds,
            timeoutMilliseconds: config.federationPeerTimeoutMilliseconds, clock: clock, logger: logger)
    }
}

extension HubEnvironment {
    /// The peer hubs asked during a recognition check.
    public var federatedRecognition: FederatedRecognition {
        FederatedRecognition(
            database: database, client: peerClient, latencies: peerLatencies, identity: identity,
            peerTimeoutMilliseconds: config.federationPeerTimeoutMilliseconds, logger: logger)
    }
}
