import Logging
import NIOCore
import Synchronization

/// The connections a door has open: how many (for its limit), and each one, so that a door that stops closes them
/// instead of leaving them to its peers' timeouts. A connection closed while it serves a message finishes the work
/// it started (a store, a transaction); only its answer is lost, and a sender that sends the message again gets the
/// answer it would have had.
public final class OpenConnections: Sendable {
    private let state = Mutex<(closing: Bool, channels: [ObjectIdentifier: any Channel])>((false, [:]))
    public let limit: Int

    public init(limit: Int) {
        self.limit = limit
    }

    /// What the door does with a connection that arrives.
    public enum Admission: Sendable {
        /// Serve it.
        case admitted
        /// Refuse it the protocol's way (an A-ASSOCIATE-RJ, a closed socket): `limit` are open.
        case tooMany
        /// Close it: the door is stopping.
        case closing
    }

    /// Counts `channel` among the open ones until `remove`; whether it is within the limit.
    public func admit(_ channel: any Channel) -> Admission {
        state.withLock { state in
            if state.closing { return .closing }
            state.channels[ObjectIdentifier(channel)] = channel
            return state.channels.count <= limit ? .admitted : .tooMany
        }
    }

    public func remove(_ channel: any Channel) {
        _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Closes every open connection, and every one that arrives from now on.
    public func closeAll() {
        let channels = state.withLock { state -> [any Channel] in
            state.closing = true
            return Array(state.channels.values)
        }
        for channel in channels { channel.close(promise: nil) }
    }
}

/// Logs an error on a door's listening socket and keeps it listening: an error that reached the end of its pipeline
/// would end the stream of connections, and with it the door. An I/O error of `accept` (out of file descriptors)
/// goes on to NIO's accept back-off, which comes after it in the pipeline and pauses accepting for a while.
public final class ListeningErrorLogger: ChannelInboundHandler, Sendable {
    public typealias InboundIn = NIOAny
    let logger: Logger
    let door: String

    public init(logger: Logger, door: String) {
        self.logger = logger
        self.door = door
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.warning("error on a listening socket", metadata: ["hub.door": "\(door)", "hub.error": "\(error)"])
        if error is IOError { context.fireErrorCaught(error) }
    }
}
