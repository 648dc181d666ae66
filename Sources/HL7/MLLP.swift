/// The Minimal Lower Layer Protocol (HL7 v2 over TCP): each message is sent as a start block (0x0B), the message
/// bytes, and an end block (0x1C 0x0D).
public enum MLLP {
    /// The start block, VT.
    public static let startBlock: UInt8 = 0x0B
    /// The first byte of the end block, FS.
    public static let endBlock: UInt8 = 0x1C
    /// The second byte of the end block, CR.
    public static let carriageReturn: UInt8 = 0x0D

    /// `message` framed for sending: start block, the bytes, end block and carriage return.
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        var framed: [UInt8] = []
        framed.reserveCapacity(message.count + 3)
        framed.append(startBlock)
        framed.append(contentsOf: message)
        framed.append(contentsOf: [endBlock, carriageReturn])
        return framed
    }
}

/// Why the MLLP decoder gave up on a frame.
public enum MLLPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A frame grew beyond the limit without its end block; its bytes were dropped and the decoder looks for the
    /// next start block.
    case frameTooLong(limit: Int)

    /// A sentence saying what happened, for logs.
    public var description: String {
        switch self {
        case .frameTooLong(let limit): return "an MLLP frame exceeded \(limit) bytes and was dropped"
        }
    }
}

/// Cuts a stream of bytes (as read from a socket, in chunks of any size) into MLLP frames.
///
/// The decoder is lenient, for the senders found in practice:
/// - Bytes outside a frame (before a start block) are dropped and counted in `discardedByteCount`.
/// - Inside a frame, 0x1C not followed by 0x0D is message data, as is a 0x1C at the end of what has been received
///   until the next byte decides; 0x1C directly followed by a start block ends the frame (a sender that leaves
///   out the final CR) and begins the next.
/// - A start block inside a frame means the sender began again: the unfinished frame is dropped, counted in
///   `abandonedFrameCount` and `discardedByteCount`, and a new frame starts.
/// - A frame whose message exceeds `maximumFrameLength` makes `nextFrame()` throw `.frameTooLong` once; the rest of
///   that frame is dropped and decoding resumes at the next start block.
///
/// Work and memory are linear in the bytes received: each byte is examined once, and consumed bytes are released.
public struct MLLPFrameDecoder: Sendable {
    private enum State: Sendable {
        /// Looking for a start block.
        case seeking
        /// Inside a frame whose message starts at the given buffer index.
        case inFrame(start: Int)
    }

    /// The longest message a frame may carry, in bytes.
    public var maximumFrameLength: Int
    /// How many bytes were dropped so far: outside frames, in abandoned frames and in frames that were too long.
    public private(set) var discardedByteCount = 0
    /// How many unfinished frames were dropped because a new start block came.
    public private(set) var abandonedFrameCount = 0

    private var buffer: [UInt8] = []
    /// The index of the next byte to examine.
    private var scanIndex = 0
    private var state = State.seeking

    /// A decoder accepting messages of up to `maximumFrameLength` bytes (16 MiB unless given).
    public init(maximumFrameLength: Int = 16 * 1024 * 1024) {
        self.maximumFrameLength = maximumFrameLength
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// How many bytes of an unfinished frame's message have been received and are held.
    public var bufferedByteCount: Int {
        switch state {
        case .inFrame(let start): return buffer.count - start
        case .seeking: return buffer.count - scanIndex
        }
    }

    /// The next complete message (without its framing bytes), or nil when more bytes are needed. Throws
    /// `.frameTooLong` once for a frame beyond `maximumFrameLength`; call again to go on with the following frames.
    public mutating func nextFrame() throws(MLLPError) -> [UInt8]? {
        scanning: while scanIndex < buffer.count {
            guard case .inFrame(let start) = state else {
                if let blockIndex = buffer[scanIndex...].firstIndex(of: MLLP.startBlock) {
                    discardedByteCount += blockIndex - scanIndex
                    state = .inFrame(start: blockIndex + 1)
                    scanIndex = blockIndex + 1
                } else {
                    discardedByteCount += buffer.count - scanIndex
                    scanIndex = buffer.count
                }
                continue
            }
            var index = scanIndex
            while index < buffer.count {
                let byte = buffer[index]
                if byte == MLLP.endBlock {
                    // The next byte decides whether this is the end block; wait for it.
                    guard index + 1 < buffer.count else { break }
                    let next = buffer[index + 1]
                    if next == MLLP.carriageReturn || next == MLLP.startBlock {
                        let message = Array(buffer[start..<index])
                        scanIndex = next == MLLP.carriageReturn ? index + 2 : index + 1
                        state = .seeking
                        compact()
                        return message
                    }
                } else if byte == MLLP.startBlock {
                    abandonedFrameCount += 1
                    discardedByteCount += index - start + 1
                    state = .inFrame(start: index + 1)
                    scanIndex = index + 1
                    continue scanning
                }
                if index - start + 1 > maximumFrameLength {
                    discardedByteCount += index - start + 2
                    state = .seeking
                    scanIndex = index + 1
                    compact()
                    throw .frameTooLong(limit: maximumFrameLength)
                }
                index += 1
            }
            scanIndex = index
            break
        }
        compact()
        return nil
    }

    /// Releases the bytes that are no longer needed, when they are many, keeping the cost of removal linear overall.
    private mutating func compact() {
        let keepFrom: Int
        switch state {
        case .inFrame(let start): keepFrom = start
        case .seeking: keepFrom = scanIndex
        }
        guard keepFrom > 0 else { return }
        if keepFrom == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.count <= 1 << 16)
        } else if keepFrom >= 1 << 16 && keepFrom * 2 >= buffer.count {
            buffer.removeSubrange(0..<keepFrom)
        } else {
            return
        }
        if case .inFrame(let start) = state { state = .inFrame(start: start - keepFrom) }
        scanIndex -= keepFrom
    }
}
