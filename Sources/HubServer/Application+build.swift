import CurlHTTP
import DICOMDoor
import Foundation
import HL7Door
import HubConfig
import HubCore
import HubFederation
import HubStore
import HubUseCases
import Hummingbird
import Logging
import ServiceLifecycle

/// The hub's Hummingbird application type.
public typealias HubApplication = Application<RouterResponder<HubRequestContext>>

/// A built hub: the application to run, and what tests and tools may look at.
public struct BuiltHub: Sendable {
    public let app: HubApplication
    public let env: HubEnvironment
    public let readiness: Readiness
    /// Every route the application answers.
    public let routes: [RouteEntry]
    /// The libcurl client every outgoing request goes through.
    public let http: CurlHTTPClient
    public let outboxWorker: OutboxWorker
    /// The DIMSE door (`dicom.port`; it does not listen when that is 0).
    public let dicom: DIMSEDoor
    /// The HL7 door (`hl7.port`; it does not listen when that is 0).
    public let hl7: MLLPDoor
    /// The SQLite store behind `env.database`, for what works on the file itself (operators' tools, tests).
    public let database: AppDatabase
}

/// Assembles the whole hub from a configuration. `hubd` calls this, and so do the tests.
///
/// The database file is opened here; migrations and first-start seeding run before the server accepts
/// connections, and `/readyz` answers 200 only after they have finished.
public func buildHub(
    _ config: HubConfiguration, logger: Logger, clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() },
    outboundResolver: OutboundAddressPolicy.Resolver? = nil
) throws -> BuiltHub {
    let registry = HubMetrics.registry()
    // The database, keys and blobs hold patient data and secrets: the folder is the owner's only.
    if let wider = try SecretFile.makePrivate(directory: config.dataDir) {
        logger.notice(
            "made the data directory private (mode 0700)",
            metadata: ["hub.data_dir": "\(config.dataDir)", "hub.previous_mode": "\(String(wider, radix: 8))"])
    }
    let database = try AppDatabase(
        path: config.databasePath, busyTimeout: .milliseconds(config.busyTimeoutMilliseconds),
        durability: config.durability)
    let storage = SQLiteStorage(database)
    let http = CurlHTTPClient(
        configuration: .init(
            tls: .init(
                caFile: config.tlsCAFile, clientCertificateFile: config.tlsClientCertificate,
                clientKeyFile: config.tlsClientKey),
            userAgent: "AllianceHub/\(config.hubId)"),
        logger: logger)
    let env = HubEnvironment(
        config: config, database: storage, patientKeys: try PatientKeys.loadOrCreate(path: config.identifierKeyPath),
        blobs: try BlobStore(root: config.blobPath),
        identity: try HubIdentity.loadOrCreate(
            hubId: config.hubId, region: config.region, keyPath: config.federationKeyPath),
        http: http, clock: clock, logger: logger, outboundResolver: outboundResolver)
    let readiness = Readiness()

    let router = Router(context: HubRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ProblemMiddleware())
    let routes = Routes(router: router, auth: AuthMiddleware(env: env))

    HealthController(env: env, readiness: readiness, registry: registry, openAPI: OpenAPIDocument.data).register(routes)
    InstitutionController(env: env).register(routes)
    PractitionerController(env: env).register(routes)
    CenterController(env: env).register(routes)
    CatalogController(env: env).register(routes)
    AuditController(env: env).register(routes)

    var settings = OutboxWorker.Settings()
    settings.policy = config.retryPolicy
    settings.perDestinationConcurrency = config.outboxPerDestinationConcurrency
    settings.breakerThreshold = config.outboxBreakerThreshold
    settings.breakerCooldown = .milliseconds(config.outboxBreakerCooldownMilliseconds)
    settings.attemptTimeout = .milliseconds(config.outboxAttemptTimeoutMilliseconds)
    settings.pollInterval = .milliseconds(config.outboxPollIntervalMilliseconds)
    settings.outbound = env.outbound
    settings.mllp = { host, port, message, timeout in
        try await MLLPClient.exchange(host: host, port: port, message: message, timeout: timeout)
    }
    let worker = OutboxWorker(
        database: storage, client: http, signal: env.outbox,
        resolver: DestinationResolver(
            database: storage, clock: clock, identity: env.identity, blobs: env.blobs,
            allowPlainHTTP: config.federationAllowPlainHTTP),
        settings: settings, clock: clock,
        logger: logger, isReady: { readiness.isReady })
    OutboxController(env: env).register(routes)
    WebhookController(env: env).register(routes)
    DICOMNodeController(env: env).register(routes)
    HL7ApplicationController(env: env).register(routes)
    PatientIndexController(env: env).register(routes)
    ExamController(env: env).register(routes)
    ReadingController(env: env).register(routes)
    AttachmentController(env: env).register(routes)
    CriticalValueController(env: env).register(routes)
    TurnaroundController(env: env).register(routes)
    FHIRController(env: env).register(routes)
    ResultController(env: env).register(routes)
    FederationController(env: env).register(routes)
    PeerController(env: env, worker: worker).register(routes)
    RecognitionController(env: env).register(routes)
    DICOMwebController(env: env).register(routes)
    ConsoleController(files: .bundled).register(routes)

    let dicom = DIMSEDoor(env: env)
    let hl7 = MLLPDoor(env: env)
    // Services stop in reverse order: the server drains first, then the outbox worker finishes its attempts,
    // then the libcurl driver stops, and the database closes last.
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "AllianceHub"),
        services: [
            DatabaseService(database: database, logger: logger), RefusalAuditService(refusals: Refusals(env)), http,
            worker,
            WorkflowMonitor(env: env, readiness: readiness), PeerDirectoryService(env: env, readiness: readiness),
            AuditHeadKeeper(env: env, readiness: readiness), dicom, hl7,
        ],
        logger: logger)
    app.beforeServerStarts {
        try await FirstStart.run(env)
        readiness.markReady()
        logger.info(
            "hub ready",
            metadata: ["hub.id": "\(config.hubId)", "hub.database": "\(config.databasePath)"])
    }
    return BuiltHub(
        app: app, env: env, readiness: readiness, routes: routes.all, http: http, outboxWorker: worker,
        dicom: dicom, hl7: hl7, database: database)
}

/// Keeps the database open while the server runs and closes it after the server has drained at shutdown
/// (services stop in reverse order, and this one is registered before the server).
struct DatabaseService: Service {
    let database: AppDatabase
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        do {
            // Closing waits for the reads and the write in progress: on a thread of its own, so that it never holds
            // one of the few threads the rest of the process runs on.
            let database = database
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                Thread {
                    do {
                        try database.close()
                        done.resume()
                    } catch {
                        done.resume(throwing: error)
                    }
                }.start()
            }
            logger.info("database closed")
        } catch {
            logger.error("database did not close cleanly", metadata: ["error.message": "\(error)"])
        }
    }
}

/// Echoes the request id to the client, so a problem report can be matched with the hub's logs.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        var response = try await next(request, context)
        response.headers[.init("X-Request-Id")!] = context.id
        return response
    }
}

/// `openapi.yaml`, shipped as a resource of this module.
enum OpenAPIDocument {
    static let data: Data = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let data = try? Data(contentsOf: url)
        else { return Data("openapi: 3.1.0\n".utf8) }
        return data
    }()
}
