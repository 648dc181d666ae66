import DIMSE
import NIOCore

/// Cuts the bytes of a connection into PDUs. A PDU longer than this side takes (the maximum length it announced for
/// P-DATA-TF, `PDUFraming.maximumControlLength` for the others) is refused from its header, before its body is
/// buffered: a connection costs at most one PDU of memory.
final class PDUDecoder: ByteToMessageDecoder {
    typealias InboundOut = PDU

    let maximumDataLength: UInt32

    init(maximumDataLength: UInt32) {
        self.maximumDataLength = maximumDataLength
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let header = buffer.getBytes(at: buffer.readerIndex, length: PDUFraming.headerLength) else {
            return .needMoreData
        }
        let (type, length) = try PDUFraming.header(header, maximumDataLength: maximumDataLength)
        guard buffer.readableBytes >= PDUFraming.headerLength + length else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: PDUFraming.headerLength)
        let body = buffer.readBytes(length: length) ?? []
        context.fireChannelRead(wrapInboundOut(try PDU.decode(type: type, body: body[...])))
        return .continue
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // What is left at the end is a PDU cut short: dropped, the association is over.
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}

extension PDU {
    /// The PDU's bytes in a buffer, for the channel.
    func buffer(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        allocator.buffer(bytes: encoded())
    }
}
