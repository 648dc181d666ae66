#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Thin wrapper over the C library's iconv, used for the multi-byte and
/// non-Latin-1 character sets. Foundation's String.Encoding on Linux has no
/// GB18030/GBK, but glibc's gconv modules do.
enum Iconv {
    /// Converts `bytes` from `encoding` to a Swift string.
    ///
    /// With `strict`, any invalid or incomplete sequence returns nil (used to
    /// probe whether undeclared text fits a guessed encoding). Otherwise each
    /// bad byte becomes U+FFFD and conversion resumes after it. Returns nil
    /// when the C library does not know `encoding`.
    static func decode(_ bytes: some Collection<UInt8>, from encoding: String, strict: Bool = false) -> String? {
        guard let utf8 = convert(Array(bytes), from: encoding, to: "UTF-8", strict: strict) else { return nil }
        return String(decoding: utf8, as: UTF8.self)
    }

    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    static func convert(_ input: [UInt8], from: String, to: String, strict: Bool) -> [UInt8]? {
        guard let cd = openDescriptor(to: to, from: from) else { return nil }
        defer { iconv_close(cd) }
        if input.isEmpty { return [] }
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 2)
        var chunk = [CChar](repeating: 0, count: 4096)
        var source = input.map { CChar(bitPattern: $0) }
        return source.withUnsafeMutableBufferPointer { src -> [UInt8]? in
            guard let srcBase = src.baseAddress else { return [] }
            var inPtr: UnsafeMutablePointer<CChar>? = srcBase
            var inLeft = src.count
            while inLeft > 0 {
                let (result, produced, err) = chunk.withUnsafeMutableBufferPointer { out -> (Int, Int, Int32) in
                    var outPtr: UnsafeMutablePointer<CChar>? = out.baseAddress
                    var outLeft = out.count
                    let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                    return (r, out.count - outLeft, r == -1 ? errno : 0)
                }
                output.append(contentsOf: chunk[0..<produced].map { UInt8(bitPattern: $0) })
                if result != -1 { break }
                if err == E2BIG { continue }
                // EILSEQ (invalid) or EINVAL (incomplete at end of input).
                if strict { return nil }
                output.append(contentsOf: replacement)
                inPtr = inPtr.map { $0 + 1 }
                inLeft -= 1
            }
            // Return stateful encodings (ISO-2022-*) to their initial state.
            let tail = chunk.withUnsafeMutableBufferPointer { out -> Int in
                var outPtr: UnsafeMutablePointer<CChar>? = out.baseAddress
                var outLeft = out.count
                _ = iconv(cd, nil, nil, &outPtr, &outLeft)
                return out.count - outLeft
            }
            output.append(contentsOf: chunk[0..<tail].map { UInt8(bitPattern: $0) })
            return output
        }
    }

    private static func openDescriptor(to: String, from: String) -> iconv_t? {
        let cd = iconv_open(to, from)
        // iconv_open signals failure with (iconv_t)-1, not NULL.
        if cd == nil || cd == iconv_t(bitPattern: -1) { return nil }
        return cd
    }

    /// True when the C library can convert from `encoding` to UTF-8.
    static func isAvailable(_ encoding: String) -> Bool {
        guard let cd = openDescriptor(to: "UTF-8", from: encoding) else { return false }
        iconv_close(cd)
        return true
    }
}
