import CurlHTTP
import Foundation
import HL7
import HubCore
import HubStorage
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Delivers the outbox through libcurl: retries with backoff and jitter, a concurrency limit and a circuit breaker
/// per destination (so one dead receiver never delays the others), and a dead-letter state operators can replay.
/// Survives restarts: deliveries in flight when the process stopped are sent again with the same idempotency key.
public final class OutboxWorker: Service, Sendable {
    public struct Settings: Sendable {
        public var policy = RetryPolicy()
        public var perDestinationConcurrency = 4
        public var breakerThreshold = 5
        public var breakerCooldown: Duration = .seconds(30)
        public var attemptTimeout: Duration = .seconds(15)
        public var pollInterval: Duration = .seconds(1)
        /// Where deliveries may go: checked at every attempt, after the name is resolved.
        public var outbound = OutboundAddressPolicy(allowInternal: false)
        /// Sends one HL7 message to a host and port over MLLP and answers the acknowledgement's bytes (the hub's
        /// MLLP client); deliveries to `hl7:` destinations are dead without it.
        public var mllp:
            (@Sendable (_ host: String, _ port: Int, _ message: [UInt8], _ timeout: Duration) async throws -> [UInt8])?
        public init() {}
    }

    private let database: any Storage
    private let client: CurlHTTPClient
    private let signal: OutboxSignal
    private let resolver: DestinationResolver
    private let settings: Settings
    private let clock: @Sendable () -> Timestamp
    private let logger: Logger
    private let state: DispatchState
    private let isReady: @Sendable () -> Bool

    /// `isReady` gates the start: the worker touches the outbox only once migrations have run.
    public init(
        database: any Storage, client: CurlHTTPClient, signal: OutboxSignal, resolver: DestinationResolver,
        settings: Settings, clock: @escaping @Sendable () -> Timestamp, logger: Logger,
        isReady: @escaping @Sendable () -> Bool = { true }
    ) {
        self.isReady = isReady
        self.database = database
        self.client = client
        self.signal = signal
        self.resolver = resolver
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.state = DispatchState(
            limit: settings.perDestinationConcurrency,
            breaker: CircuitBreaker(
                threshold: settings.breakerThreshold,
                cooldownMilliseconds: settings.breakerCooldown.wholeMilliseconds))
    }

    public func run() async throws {
        while !isReady() {
            try await Task.sleep(for: .milliseconds(20))
            if Task.isShuttingDownGracefully { return }
        }
        let resumed = try await database.write { [clock] in try $0.resumeDeliveriesInFlight(now: clock()) }
        if resumed > 0 {
            logger.notice("resuming deliveries interrupted by a stop", metadata: ["hub.count": "\(resumed)"])
        }
        let stopping = StopFlag()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                var lastGauge = ContinuousClock.now - .seconds(60)
                while !stopping.isSet {
                    do {
                        for delivery in try await self.dispatchable() {
                            group.addTask { await self.deliver(delivery) }
                        }
                        if ContinuousClock.now - lastGauge > .seconds(5) {
                            try await self.publishBacklog()
                            lastGauge = .now
                        }
                    } catch is CancellationError {
                        break
                    } catch {
                        self.logger.error("outbox dispatch failed", metadata: ["error.message": "\(error)"])
                    }
                    if stopping.isSet { break }
                    let pause = (try? await self.sleepTime()) ?? self.settings.pollInterval
                    await self.signal.wait(timeout: pause)
                }
                // A stopping hub does not wait for slow receivers: attempts in flight are cancelled, stay in flight in
                // the table, and are sent again (same idempotency key) at the next start.
                group.cancelAll()
            }
        } onGracefulShutdown: {
            stopping.set()
            self.signal.signal()
        }
    }

    /// Due deliveries that their destination may take now, claimed for sending.
    func dispatchable() async throws -> [OutboxDelivery] {
        let now = clock()
        let due = try await database.read { try $0.dueDeliveries(now: now, limit: 256) }
        var claimed: [OutboxDelivery] = []
        for delivery in due where state.reserve(delivery.destination, at: now.millisecondsSinceEpoch) {
            if try await database.write({ try $0.claimDelivery(id: delivery.id, now: now) }) {
                claimed.append(delivery)
            } else {
                state.release(delivery.destination)
            }
        }
        return claimed
    }

    func sleepTime() async throws -> Duration {
        guard let next = try await database.read({ try $0.nextDeliveryDue() }) else { return settings.pollInterval }
        let wait = next.millisecondsSinceEpoch - clock().millisecondsSinceEpoch
        return .milliseconds(max(5, min(wait, Int64(settings.pollInterval.components.seconds * 1000) + 1)))
    }

    /// One attempt, its outcome recorded.
    func deliver(_ delivery: OutboxDelivery) async {
        let started = ContinuousClock.now
        var verdict = AttemptVerdict.retry
        var status: Int?
        var failure: String?
        var interrupted = false
        do {
            if case .hl7(let applicationId)? = Destination(delivery.destination) {
                (verdict, failure) = try await deliverHL7(delivery, to: applicationId)
            } else {
                (verdict, status, failure) = try await deliverHTTP(delivery)
            }
        } catch let error as CurlHTTPError where error == .shutdown || error == .cancelled {
            interrupted = true
        } catch let error as UnroutableDelivery {
            verdict = .refused
            failure = error.description
        } catch let error as OutboundAddressRefused {
            // Not a network failure that may pass: the destination as configured is not one the hub calls. The
            // delivery is dead until an operator corrects the URL (or the receiver's DNS) and replays it.
            verdict = .refused
            failure = error.description
        } catch {
            failure = "\(error)"
        }
        let now = clock()
        if interrupted {
            // Not an attempt: the hub is stopping. It goes back to pending, and is sent at the next start.
            _ = try? await database.write { try $0.resumeDeliveriesInFlight(now: now) }
        } else {
            do {
                let jitter = Double.random(in: 0...1)
                let (verdict, status, failure) = (verdict, status, failure)
                let outcome = try await database.write { [settings] db in
                    try db.recordAttempt(
                        id: delivery.id, verdict: verdict, status: status, error: failure, policy: settings.policy,
                        jitter: jitter, now: now)
                }
                Counter(label: "hub.outbox.deliveries", dimensions: [("outcome", Self.outcome(verdict, outcome))])
                    .increment()
                Metrics.Timer(label: "hub.outbox.delivery.duration", preferredDisplayUnit: .seconds)
                    .recordNanoseconds(Self.nanoseconds(ContinuousClock.now - started))
                if outcome == .dead {
                    logger.warning(
                        "delivery is dead",
                        metadata: [
                            "hub.delivery.id": "\(delivery.id)", "hub.delivery.destination": "\(delivery.destination)",
                            "error.message": "\(failure ?? "")",
                        ])
                }
            } catch {
                logger.error("could not record a delivery attempt", metadata: ["error.message": "\(error)"])
            }
        }
        // A refusal (4xx) proves the destination is up; only transport failures and 5xx count against it.
        state.finish(delivery.destination, healthy: verdict != .retry, at: now.millisecondsSinceEpoch)
        signal.signal()
    }

    /// One HTTP attempt through libcurl, to the address the destination resolves to now: its verdict, its status
    /// and why it failed.
    func deliverHTTP(_ delivery: OutboxDelivery) async throws -> (AttemptVerdict, Int?, String?) {
        let target = try await resolver.resolve(delivery)
        // The address is checked at every attempt, after resolution, and the connection pinned to what was
        // checked: a receiver's name that now resolves to an internal address is refused, not followed.
        let pin = try await settings.outbound.check(target.url)
        var headers: [(name: String, value: String)] = [
            ("Content-Type", delivery.contentType), ("Idempotency-Key", delivery.idempotencyKey),
            ("X-Hub-Delivery", delivery.id), ("X-Hub-Event", delivery.kind),
        ]
        headers += target.headers
        let body: CurlRequest.Body =
            switch target.blob {
            case .file(let path): .file(path: path)
            case .bytes(let bytes): .bytes(bytes)
            case nil: .bytes(Array(delivery.body))
            }
        let response = try await client.execute(
            CurlRequest(
                method: delivery.method, url: target.url, headers: headers,
                body: body,
                timeout: settings.attemptTimeout, maxResponseBytes: 1_048_576, resolve: pin.curlResolve))
        let verdict = RetryPolicy.verdict(status: response.status)
        if verdict != .delivered {
            return (
                verdict, response.status,
                "HTTP \(response.status): " + String(decoding: response.body.prefix(200), as: UTF8.self)
            )
        }
        // A 2xx that cannot be taken as delivered (a peer's answer it did not sign) is tried again.
        if let refused = target.refusal(response) { return (.retry, response.status, refused) }
        return (.delivered, response.status, nil)
    }

    /// One MLLP attempt to a registered HL7 application: AA or CA is delivered; AE or CE (the receiver refused the
    /// content, which sending again will not change) is refused, and the delivery dead for an operator; AR, CR, an
    /// acknowledgement of another message, or none at all is tried again. The receiver is the one an admin registered
    /// (its host and port), on the hospital's own network: the address policy of webhooks does not apply.
    func deliverHL7(_ delivery: OutboxDelivery, to applicationId: String) async throws -> (AttemptVerdict, String?) {
        guard let mllp = settings.mllp else {
            throw UnroutableDelivery(description: "this hub sends no HL7 messages (no MLLP client)")
        }
        guard let receiver = try await database.read({ try $0.hl7Application(id: applicationId) }) else {
            throw UnroutableDelivery(description: "HL7 application '\(applicationId)' is not registered")
        }
        guard let port = receiver.port else {
            throw UnroutableDelivery(description: "HL7 application '\(applicationId)' has no port to receive on")
        }
        let bytes = try await mllp(receiver.host, port, Array(delivery.body), settings.attemptTimeout)
        guard let ack = try? HL7Message.parse(bytes), let msa = ack.segment(named: "MSA") else {
            return (.retry, "the answer is not an HL7 acknowledgement")
        }
        let sent = try? HL7Message.parse(Array(delivery.body))
        guard msa.value(2) == sent?.controlID else {
            return (
                .retry, "the acknowledgement is of message \(msa.value(2) ?? "(none)"), not \(sent?.controlID ?? "")"
            )
        }
        let text = [msa.value(3), ack.segment(named: "ERR")?.value(8)].compactMap { $0 }.joined(separator: ": ")
        switch msa.value(1) {
        case "AA", "CA": return (.delivered, nil)
        case "AE", "CE": return (.refused, "\(msa.value(1) ?? ""): \(text)")
        default: return (.retry, "\(msa.value(1) ?? "no code"): \(text)")
        }
    }

    func publishBacklog() async throws {
        let backlog = try await database.read { try $0.outboxBacklog() }
        for destination in state.knownDestinations.union(backlog.keys) {
            Gauge(label: "hub.outbox.backlog", dimensions: [("destination", destination)])
                .record(backlog[destination] ?? 0)
        }
    }

    /// Circuit state per destination, for operators.
    public func circuits() -> [String: CircuitBreaker.State] {
        state.circuits(at: clock().millisecondsSinceEpoch)
    }

    static func outcome(_ verdict: AttemptVerdict, _ state: DeliveryState) -> String {
        switch state {
        case .delivered: "delivered"
        case .dead: verdict == .refused ? "refused" : "exhausted"
        default: "retry"
        }
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }
}

/// In-memory bookkeeping of attempts in flight and breakers, per destination.
final class DispatchState: Sendable {
    private struct Destination {
        var inFlight = 0
        var breaker: CircuitBreaker
    }

    private let limit: Int
    private let template: CircuitBreaker
    private let destinations = Mutex<[String: Destination]>([:])

    init(limit: Int, breaker: CircuitBreaker) {
        self.limit = limit
        self.template = breaker
    }

    func reserve(_ destination: String, at now: Int64) -> Bool {
        destinations.withLock { all in
            var entry = all[destination] ?? Destination(breaker: template)
            defer { all[destination] = entry }
            guard entry.inFlight < limit, entry.breaker.allows(at: now) else { return false }
            entry.inFlight += 1
            return true
        }
    }

    func release(_ destination: String) {
        destinations.withLock { $0[destination]?.inFlight -= 1 }
    }

    func finish(_ destination: String, healthy: Bool, at now: Int64) {
        destinations.withLock { all in
            guard var entry = all[destination] else { return }
            entry.inFlight -= 1
            if healthy { entry.breaker.recordSuccess() } else { entry.breaker.recordFailure(at: now) }
            all[destination] = entry
        }
    }

    var knownDestinations: Set<String> { destinations.withLock { Set($0.keys) } }

    func circuits(at now: Int64) -> [String: CircuitBreaker.State] {
        destinations.withLock { $0.mapValues { $0.breaker.state(at: now) } }
    }
}

/// Set once when graceful shutdown begins.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .acquiring) }
    func set() { flag.store(true, ordering: .releasing) }
}
