import CZlib

/// Raw-deflate decompression for Deflated Explicit VR Little Endian, whose
/// dataset is an RFC 1951 stream with no zlib or gzip header (PS3.5 A.5).
enum Inflate {
    struct Result {
        /// The first `keep` bytes of the output (all of it when it fits).
        var bytes: [UInt8]
        /// The deflate stream reached its end marker and every output byte is in `bytes`.
        var complete: Bool
        /// Output stopped because `keep` bytes were kept and the stream goes on.
        var hitLimit: Bool
    }

    /// Inflates `input`, keeping at most `keep` bytes: inflation stops as soon as
    /// more would be needed. A stream that simply stops early is reported as
    /// incomplete rather than as an error, so a file prefix can be inflated
    /// when reading headers.
    static func raw(_ input: ArraySlice<UInt8>, maxOutput keep: Int) throws -> Result {
        let inflater = try Inflater()
        var output: [UInt8] = []
        var hitLimit = false
        let end = try input.withUnsafeBytes { bytes in
            try inflater.feed(bytes) { piece in
                let room = keep - output.count
                if piece.count > room {
                    output.append(contentsOf: piece.prefix(room))
                    hitLimit = true
                    return false
                }
                output.append(contentsOf: piece)
                return true
            }
        }
        return Result(bytes: output, complete: end == .ended, hitLimit: hitLimit)
    }

    /// The size the whole stream inflates to, read from `next` (a source of
    /// input chunks, empty at its end) through one 64 KiB buffer: nothing is
    /// kept. Throws `inflated_too_large` as soon as `limit` is passed.
    static func size(limit: Int, next: () throws -> ArraySlice<UInt8>) throws -> (size: Int, complete: Bool) {
        let inflater = try Inflater()
        var total = 0
        while true {
            let chunk = try next()
            if chunk.isEmpty { return (total, false) }
            let end = try chunk.withUnsafeBytes { bytes in
                try inflater.feed(bytes) { piece in
                    total += piece.count
                    return total <= limit
                }
            }
            switch end {
            case .ended: return (total, true)
            case .stopped:
                throw DICOMError(
                    code: DICOMError.inflatedTooLarge,
                    detail: "the deflated dataset inflates to more than \(limit) bytes",
                    offset: inflater.consumed)
            case .needsInput: continue
            }
        }
    }
}

/// One raw-deflate stream inflated piece by piece into a fixed 64 KiB buffer.
final class Inflater {
    enum End { case needsInput, ended, stopped }

    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 64 << 10)
    private let capacity = 64 << 10

    init() throws {
        stream.initialize(to: z_stream())
        // Negative window bits select a raw stream without a zlib header.
        let status = inflateInit2_(stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            buffer.deallocate()
            throw DICOMError(code: DICOMError.inflateFailed, detail: "inflateInit2 failed (\(status))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        buffer.deallocate()
    }

    /// Input bytes consumed so far.
    var consumed: Int { Int(stream.pointee.total_in) }

    /// Inflates all of `input`, handing each produced piece to `output`
    /// (valid during the call only), which returns false to stop.
    func feed(_ input: UnsafeRawBufferPointer, _ output: (UnsafeRawBufferPointer) throws -> Bool) throws -> End {
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count > 0 else {
            return .needsInput
        }
        var offset = 0
        // zlib's avail_in is 32-bit; very large inputs are fed in slices.
        while true {
            if stream.pointee.avail_in == 0 {
                if offset >= input.count { return .needsInput }
                let n = min(input.count - offset, 1 << 30)
                stream.pointee.next_in = UnsafeMutablePointer(mutating: base + offset)
                stream.pointee.avail_in = UInt32(n)
                offset += n
            }
            stream.pointee.next_out = buffer
            stream.pointee.avail_out = UInt32(capacity)
            let status = inflate(stream, Z_NO_FLUSH)
            let produced = capacity - Int(stream.pointee.avail_out)
            if produced > 0, try !output(UnsafeRawBufferPointer(start: buffer, count: produced)) {
                stream.pointee.avail_in = 0
                return .stopped
            }
            switch status {
            case Z_STREAM_END:
                stream.pointee.avail_in = 0
                return .ended
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.pointee.avail_in == 0:
                // No progress without more input: the next slice, or the caller's next chunk.
                continue
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
                stream.pointee.avail_in = 0
                throw DICOMError(
                    code: DICOMError.inflateFailed, detail: "deflate stream is corrupt: \(message)",
                    offset: consumed)
            }
        }
    }
}
