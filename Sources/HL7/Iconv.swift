#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Strict conversion between character encodings through the C library's iconv: any invalid or incomplete input
/// sequence makes the whole conversion fail, so that text is never silently altered.
enum HL7Iconv {
    /// `input` converted from the encoding named `from` to the one named `to` (iconv names), or nil when the input is
    /// not valid in `from`, cannot be represented in `to`, or the C library knows neither encoding.
    static func convert(_ input: some Collection<UInt8>, from: String, to: String) -> [UInt8]? {
        let descriptor = iconv_open(to, from)
        guard let descriptor, Int(bitPattern: descriptor) != -1 else { return nil }
        defer { iconv_close(descriptor) }
        var source = Array(input)
        if source.isEmpty { return [] }
        var output = [UInt8](repeating: 0, count: source.count * 2 + 16)
        var written = 0
        let succeeded = source.withUnsafeMutableBytes { sourceBuffer -> Bool in
            var inPointer: UnsafeMutablePointer<CChar>? = sourceBuffer.baseAddress!.assumingMemoryBound(to: CChar.self)
            var inLeft = sourceBuffer.count
            var flushing = false
            while true {
                let result = output.withUnsafeMutableBytes { outputBuffer -> Int in
                    var outPointer: UnsafeMutablePointer<CChar>? =
                        (outputBuffer.baseAddress! + written).assumingMemoryBound(to: CChar.self)
                    var outLeft = outputBuffer.count - written
                    let result =
                        flushing
                        ? iconv(descriptor, nil, nil, &outPointer, &outLeft)
                        : iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft)
                    written = outputBuffer.count - outLeft
                    return result
                }
                if result != -1 {
                    if flushing { return true }
                    if inLeft == 0 { flushing = true }
                    continue
                }
                // E2BIG: the output is full; anything else (EILSEQ, EINVAL) is input that is not valid text.
                guard errno == E2BIG else { return false }
                output.append(contentsOf: repeatElement(0, count: output.count))
            }
        }
        guard succeeded else { return nil }
        output.removeSubrange(written...)
        return output
    }
}
