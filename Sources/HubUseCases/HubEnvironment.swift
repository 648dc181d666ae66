import Crypto
import CurlHTTP
import Foundation
import HubConfig
import HubCore
import HubFederation
import HubStorage
import Logging

/// The hub's shared dependencies, and nothing else: wiring. Each use case is made from it (`init(_ env:)`) and keeps
/// only the few it needs.
public struct HubEnvironment: Sendable {
    public let config: HubConfiguration
    public let database: any Storage
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
        config: HubConfiguration, database: any Storage, catalog: CatalogStore = CatalogStore(),
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

    /// The peers' directories, as this hub fetches them.
    public var peerDirectory: PeerDirectory {
        PeerDirectory(
            database: database, client: peerClient, latencies: peerLatencies, hubId: config.hubId,
            refreshSeconds: config.federationDirectoryRefreshSeconds,
            timeoutMilliseconds: config.federationPeerTimeoutMilliseconds, clock: clock, logger: logger)
    }

    /// The peer hubs asked during a recognition check.
    public var federatedRecognition: FederatedRecognition {
        FederatedRecognition(
            database: database, client: peerClient, latencies: peerLatencies, identity: identity,
            peerTimeoutMilliseconds: config.federationPeerTimeoutMilliseconds, logger: logger)
    }
}
