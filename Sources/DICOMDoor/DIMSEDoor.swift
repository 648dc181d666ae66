import DICOM
import DIMSE
import Foundation
import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Logging
import NIOCore
import NIOPosix
import NetworkDoor
import ServiceLifecycle

/// The DICOM network door (PS3.7, PS3.8): modalities, archives and workstations open associations to the hub's AE
/// title as registered DICOM nodes of their institutions: they verify (C-ECHO), store (C-STORE, through
/// `DICOMIngest`, the same path as a STOW-RS part), read their modality worklist and query the archive (C-FIND), with
/// the same rights as their institution's staff have over DICOMweb.
public final class DIMSEDoor: Service, Sendable {
    let settings: Settings
    let nodes: DICOMNodes
    let ingest: DICOMIngest
    let worklist: ModalityWorklist
    let archive: DICOMArchive
    let uploadMemory: UploadMemory
    let clock: @Sendable () -> Timestamp
    let logger: Logger
    private let listening = ListeningPort()
    private let open: OpenConnections

    /// What the door is told by the configuration.
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var aeTitle: String
        public var maximumPDULength: Int
        public var maximumAssociations: Int
        public var idleTimeout: Duration
        /// The civil time of scheduled dates and times on the worklist (`hub.utc_offset_minutes`).
        public var utcOffsetMinutes: Int

        public init(_ config: HubConfiguration) {
            host = config.host
            port = config.dicomPort
            aeTitle = config.dicomAETitle
            maximumPDULength = config.dicomMaxPDUBytes
            maximumAssociations = config.dicomMaxAssociations
            idleTimeout = .milliseconds(config.dicomIdleTimeoutMilliseconds)
            utcOffsetMinutes = config.utcOffsetMinutes
        }
    }

    public init(env: HubEnvironment, settings: Settings? = nil) {
        let settings = settings ?? Settings(env.config)
        self.settings = settings
        open = OpenConnections(limit: settings.maximumAssociations)
        nodes = DICOMNodes(env)
        ingest = DICOMIngest(env)
        worklist = ModalityWorklist(env)
        archive = DICOMArchive(env)
        uploadMemory = env.uploadMemory
        clock = env.clock
        logger = env.logger
    }

    /// The port the door listens on, once it does; throws when it does not listen.
    public func port() async throws -> Int { try await listening.wait() }

    public func run() async throws {
        guard settings.port != 0 else {
            listening.never("dicom.port is 0: the DIMSE door is off")
            // A service that returned would stop the hub with it.
            try? await gracefulShutdown()
            return
        }
        let server: NIOAsyncChannel<NIOAsyncChannel<PDU, ByteBuffer>, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelInitializer { [logger] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ListeningErrorLogger(logger: logger, door: "dicom"))
                    }
                }
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(host: settings.host, port: settings.port) { channel in self.connection(on: channel) }
        } catch {
            listening.never("the DIMSE door could not listen on \(settings.host):\(settings.port): \(error)")
            throw error
        }
        let port = server.channel.localAddress?.port ?? settings.port
        listening.bound(port)
        logger.info(
            "DIMSE door listening", metadata: ["dicom.port": "\(port)", "dicom.ae_title": "\(settings.aeTitle)"])
        try await withGracefulShutdownHandler {
            try await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
            self.open.closeAll()
        }
    }

    /// A connection's pipeline, whichever side opened it: the idle timer, PDUs cut to what this side takes, and the
    /// async channel an association reads and writes.
    func connection(on channel: any Channel) -> EventLoopFuture<NIOAsyncChannel<PDU, ByteBuffer>> {
        let idle = TimeAmount(settings.idleTimeout)
        let maximumLength = UInt32(settings.maximumPDULength)
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ReadTimeoutHandler(timeout: idle))
            try channel.pipeline.syncOperations.addHandler(
                ByteToMessageHandler(PDUDecoder(maximumDataLength: maximumLength)))
            return try NIOAsyncChannel<PDU, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
    }

    /// One association, from its A-ASSOCIATE-RQ to its release or abort.
    func serve(_ connection: NIOAsyncChannel<PDU, ByteBuffer>) async {
        let address = HostAddresses.peer(of: connection.channel)
        let admission = open.admit(connection.channel)
        defer { open.remove(connection.channel) }
        if case .closing = admission {
            try? await connection.channel.close()
            return
        }
        let admitted = admission == .admitted
        do {
            try await connection.executeThenClose { inbound, outbound in
                var association = Association(door: self, address: address, admitted: admitted, outbound: outbound)
                do {
                    for try await pdu in inbound {
                        guard try await association.receive(pdu) else { break }
                    }
                    association.ended()
                } catch let error as PDUError {
                    logger.notice(
                        "DIMSE association aborted",
                        metadata: ["dicom.peer": "\(address)", "dicom.reason": "\(error.detail)"])
                    try? await outbound.write(PDU.abort(error.abort).buffer(ByteBufferAllocator()))
                    association.ended()
                }
            }
        } catch {
            logger.debug("DIMSE connection ended", metadata: ["dicom.peer": "\(address)", "error": "\(error)"])
        }
    }
}
