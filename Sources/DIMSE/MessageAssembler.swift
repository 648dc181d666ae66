/// Puts DIMSE messages back together from the PDVs of P-DATA-TF PDUs: a command set arrives whole (it is small), a
/// data set fragment by fragment, so a large instance never has to be held whole.
public struct MessageAssembler: Sendable {
    /// What the PDVs received so far complete.
    public enum Event: Sendable, Equatable {
        /// A whole command on a presentation context; a data set follows when `command.hasDataSet`.
        case command(contextID: UInt8, Command)
        /// A fragment of the data set of the last command; `isLast` ends it.
        case dataSet(contextID: UInt8, bytes: [UInt8], isLast: Bool)
    }

    /// The largest command set accepted; real ones are a few hundred bytes.
    public static let maximumCommandBytes = 64 * 1024

    private enum State: Sendable {
        case idle
        case command(contextID: UInt8, bytes: [UInt8])
        case dataSet(contextID: UInt8)
    }

    private var state = State.idle

    public init() {}

    /// True between messages: no command or data set is half received.
    public var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    /// Takes one PDV; answers what it completes, if anything. A PDV out of order (a data set fragment with no
    /// command before it, a command while a data set is due, another context in the middle of a message) throws.
    public mutating func feed(_ pdv: PDV) throws(PDUError) -> Event? {
        switch state {
        case .idle:
            guard pdv.isCommand else {
                throw PDUError(.unexpectedPDU, "a data set fragment with no command before it")
            }
            return try command(contextID: pdv.contextID, bytes: pdv.bytes, last: pdv.isLast)
        case .command(let contextID, let bytes):
            guard pdv.isCommand, pdv.contextID == contextID else {
                throw PDUError(.unexpectedPDU, "a command fragment was due on context \(contextID)")
            }
            return try command(contextID: contextID, bytes: bytes + pdv.bytes, last: pdv.isLast)
        case .dataSet(let contextID):
            guard !pdv.isCommand, pdv.contextID == contextID else {
                throw PDUError(.unexpectedPDU, "a data set fragment was due on context \(contextID)")
            }
            if pdv.isLast { state = .idle }
            return .dataSet(contextID: contextID, bytes: pdv.bytes, isLast: pdv.isLast)
        }
    }

    private mutating func command(contextID: UInt8, bytes: [UInt8], last: Bool) throws(PDUError) -> Event? {
        guard bytes.count <= Self.maximumCommandBytes else {
            throw PDUError.invalid("a command set of more than \(Self.maximumCommandBytes) bytes")
        }
        guard last else {
            state = .command(contextID: contextID, bytes: bytes)
            return nil
        }
        let command = try Command.decode(bytes)
        state = command.hasDataSet ? .dataSet(contextID: contextID) : .idle
        return .command(contextID: contextID, command)
    }

    /// The PDUs that carry `bytes` (a command set or a data set) on `contextID`, each at most `maximumLength` long
    /// (the peer's limit; 0 for none).
    /// `endsMessage` false leaves the last fragment open, for a data set sent in several pieces.
    public static func fragments(
        of bytes: [UInt8], contextID: UInt8, isCommand: Bool, maximumLength: UInt32, endsMessage: Bool = true
    ) -> [PDU] {
        // Each PDU carries one PDV: 4 bytes of item length and 2 of header around the fragment.
        let limit = maximumLength == 0 ? 1 << 20 : max(Int(maximumLength) - 6, 2)
        var pdus: [PDU] = []
        var start = 0
        repeat {
            let end = min(start + limit, bytes.count)
            pdus.append(
                .data([
                    PDV(
                        contextID: contextID, isCommand: isCommand, isLast: endsMessage && end == bytes.count,
                        bytes: Array(bytes[start..<end]))
                ]))
            start = end
        } while start < bytes.count
        return pdus
    }
}
