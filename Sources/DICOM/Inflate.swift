import CZlib

/// Raw-deflate decompression for Deflated Explicit VR Little Endian, whose
/// dataset is an RFC 1951 stream with no zlib or gzip header (PS3.5 A.5).
enum Inflate {
    struct Result {
        var bytes: [UInt8]
        /// The deflate stream reached its end marker.
        var complete: Bool
        /// Output stopped because `maxOutput` was reached.
        var hitLimit: Bool
    }

    /// Inflates `input`. A stream that simply stops early is reported as
    /// incomplete rather than as an error, so a file prefix can be inflated
    /// when reading headers. Output never exceeds `maxOutput` bytes.
    static func raw(_ input: ArraySlice<UInt8>, maxOutput: Int) throws -> Result {
        var stream = z_stream()
        // Negative window bits select a raw stream without a zlib header.
        let initStatus = inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw DICOMError(code: DICOMError.inflateFailed, detail: "inflateInit2 failed (\(initStatus))")
        }
        defer { inflateEnd(&stream) }

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = Array(input)
        var complete = false
        var hitLimit = false
        let chunkCount = chunk.count
        try input.withUnsafeMutableBufferPointer { inBuf in
            // zlib's avail_in is 32-bit; feed very large inputs in slices.
            var consumed = 0
            while true {
                if stream.avail_in == 0 && consumed < inBuf.count {
                    let n = min(inBuf.count - consumed, Int(UInt32.max >> 1))
                    stream.next_in = inBuf.baseAddress.map { $0 + consumed }
                    stream.avail_in = UInt32(n)
                    consumed += n
                }
                let room = min(chunkCount, maxOutput - output.count)
                if room <= 0 { hitLimit = true; break }
                let (status, produced) = chunk.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(room)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    return (status, room - Int(stream.avail_out))
                }
                output.append(contentsOf: chunk[0..<produced])
                switch status {
                case Z_STREAM_END:
                    complete = true
                    return
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    // More input to feed: go on; otherwise the stream stopped
                    // before its end marker (a prefix or a truncated file).
                    if stream.avail_in == 0 && consumed < inBuf.count { continue }
                    return
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                    throw DICOMError(
                        code: DICOMError.inflateFailed,
                        detail: "deflate stream is corrupt: \(message)",
                        offset: Int(stream.total_in))
                }
            }
        }
        return Result(bytes: output, complete: complete, hitLimit: hitLimit)
    }
}
