import HL7
import NIOCore
import NIOPosix

/// The hub's MLLP client, for the outbox: one connection per message, which is framed, sent, and answered by one
/// framed acknowledgement before the connection closes. Bounded by `timeout` from the connect to the answer.
public enum MLLPClient {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    @Sendable public static func exchange(
        host: String, port: Int, message: [UInt8], timeout: Duration
    ) async throws -> [UInt8] {
        try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask { try await send(host: host, port: port, message: message) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let answer = first else {
                throw Failure(description: "no acknowledgement from \(host):\(port) within \(timeout)")
            }
            return answer
        }
    }

    static func send(host: String, port: Int, message: [UInt8]) async throws -> [UInt8] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: MLLP.frame(message)))
                var frames = MLLPFrameDecoder(maximumFrameLength: 1_048_576)
                for try await chunk in inbound {
                    frames.append(chunk.readableBytesView)
                    if let frame = try frames.nextFrame() { return frame }
                }
                throw Failure(description: "\(host):\(port) closed the connection without an acknowledgement")
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }
}
