import HL7
import HubConfig
import HubCore
import HubFederation
import HubStorage
import HubUseCases
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The HL7 door: laboratory and hospital information systems connect over MLLP (HL7 v2's minimal lower layer
/// protocol) as registered HL7 applications of their institutions and send results and patient administration,
/// each message answered with its acknowledgement on the same connection, in order (`HL7Inbound`).
public final class MLLPDoor: Service, Sendable {
    let settings: Settings
    let inbound: HL7Inbound
    let logger: Logger
    private let bound = Mutex<(port: Int?, waiting: [CheckedContinuation<Int, any Error>])>((nil, []))
    private let open = Atomic<Int>(0)

    /// What the door is told by the configuration.
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var maximumMessageLength: Int
        public var maximumConnections: Int
        public var idleTimeout: Duration

        public init(_ config: HubConfiguration) {
            host = config.host
            port = config.hl7Port
            maximumMessageLength = config.hl7MaxMessageBytes
            maximumConnections = config.hl7MaxConnections
            idleTimeout = .milliseconds(config.hl7IdleTimeoutMilliseconds)
        }
    }

    public init(env: HubEnvironment, settings: Settings? = nil) {
        self.settings = settings ?? Settings(env.config)
        inbound = HL7Inbound(env)
        logger = env.logger
    }

    /// The port the door listens on, once it does.
    public func port() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let ready = bound.withLock { state -> Int? in
                if let port = state.port { return port }
                state.waiting.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    public func run() async throws {
        guard settings.port != 0 else {
            // The door is off; a service that returned would stop the hub with it.
            try? await gracefulShutdown()
            return
        }
        let timeout = settings.idleTimeout.components
        let idle = TimeAmount.nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: settings.host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        IdleStateHandler(readTimeout: idle), CloseWhenIdle())
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let port = server.channel.localAddress?.port ?? settings.port
        for waiting in bound.withLock({ state in
            state.port = port
            defer { state.waiting = [] }
            return state.waiting
        }) {
            waiting.resume(returning: port)
        }
        logger.info("HL7 door listening", metadata: ["hl7.port": "\(port)"])
        try await withGracefulShutdownHandler {
            try await server.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    /// One connection: frames in, one acknowledgement out for each, in the order the messages came.
    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let address = connection.channel.remoteAddress?.ipAddress ?? "unknown"
        let admitted = open.wrappingAdd(1, ordering: .relaxed).newValue <= settings.maximumConnections
        defer { open.wrappingSubtract(1, ordering: .relaxed) }
        guard admitted else {
            logger.notice("HL7 connection refused: too many open", metadata: ["hl7.peer": "\(address)"])
            try? await connection.channel.close()
            return
        }
        do {
            try await connection.executeThenClose { chunks, outbound in
                var frames = MLLPFrameDecoder(maximumFrameLength: settings.maximumMessageLength)
                for try await chunk in chunks {
                    frames.append(chunk.readableBytesView)
                    while true {
                        let answer: [UInt8]
                        do {
                            guard let frame = try frames.nextFrame() else { break }
                            answer = await inbound.answer(frame, from: address, hostAddresses: Self.addresses)
                        } catch {
                            answer = inbound.tooLong(limit: settings.maximumMessageLength)
                        }
                        try await outbound.write(ByteBuffer(bytes: MLLP.frame(answer)))
                    }
                }
            }
        } catch {
            logger.debug("HL7 connection ended", metadata: ["hl7.peer": "\(address)", "error": "\(error)"])
        }
    }

    /// The addresses an application's host stands for: an IP address itself, a name every address it resolves to.
    @Sendable static func addresses(_ host: String) async -> Set<String> {
        Set((try? await OutboundAddressPolicy.systemResolver(host)) ?? [])
    }
}

/// Closes a connection that has sent nothing for `hl7.idle_timeout_ms`: a silent or half-open peer holds no
/// connection for long.
final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
