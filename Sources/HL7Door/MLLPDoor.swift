import HL7
import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Logging
import NIOCore
import NIOPosix
import NetworkDoor
import ServiceLifecycle

/// The HL7 door: laboratory and hospital information systems connect over MLLP (HL7 v2's minimal lower layer
/// protocol) as registered HL7 applications of their institutions and send results and patient administration,
/// each message answered with its acknowledgement on the same connection, in order (`HL7Inbound`).
public final class MLLPDoor: Service, Sendable {
    let settings: Settings
    let inbound: HL7Inbound
    let logger: Logger
    private let listening = ListeningPort()
    private let open: OpenConnections

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
        let settings = settings ?? Settings(env.config)
        self.settings = settings
        open = OpenConnections(limit: settings.maximumConnections)
        inbound = HL7Inbound(env)
        logger = env.logger
    }

    /// The port the door listens on, once it does; throws when it does not listen.
    public func port() async throws -> Int { try await listening.wait() }

    public func run() async throws {
        guard settings.port != 0 else {
            listening.never("hl7.port is 0: the HL7 door is off")
            // A service that returned would stop the hub with it.
            try? await gracefulShutdown()
            return
        }
        let idle = TimeAmount(settings.idleTimeout)
        let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        let logger = logger
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ListeningErrorLogger(logger: logger, door: "hl7"))
                    }
                }
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(host: settings.host, port: settings.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ReadTimeoutHandler(timeout: idle))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            listening.never("the HL7 door could not listen on \(settings.host):\(settings.port): \(error)")
            throw error
        }
        let port = server.channel.localAddress?.port ?? settings.port
        listening.bound(port)
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
            self.open.closeAll()
        }
    }

    /// One connection: frames in, one acknowledgement out for each, in the order the messages came.
    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let address = HostAddresses.peer(of: connection.channel)
        let admission = open.admit(connection.channel)
        defer { open.remove(connection.channel) }
        guard case .admitted = admission else {
            if case .tooMany = admission {
                logger.notice("HL7 connection refused: too many open", metadata: ["hl7.peer": "\(address)"])
            }
            try? await connection.channel.close()
            return
        }
        do {
            try await connection.executeThenClose { chunks, outbound in
                var peer = HL7Inbound.Connection(address: address, hostAddresses: HostAddresses.of)
                var frames = MLLPFrameDecoder(maximumFrameLength: settings.maximumMessageLength)
                for try await chunk in chunks {
                    frames.append(chunk.readableBytesView)
                    while true {
                        let answer: [UInt8]
                        do {
                            guard let frame = try frames.nextFrame() else { break }
                            answer = await inbound.answer(frame, on: &peer)
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
}
