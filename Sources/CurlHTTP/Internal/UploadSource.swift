#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The request body as libcurl's read/seek callbacks see it.
///
/// Files are read with `pread` at our own offset, so a rewind (libcurl retries
/// a request on a fresh connection when a reused one turns out dead) is just
/// an offset change. Blocking disk reads are fine here: they happen on the
/// driver thread, never on the cooperative pool.
final class UploadSource {
    private enum Storage {
        case bytes([UInt8])
        case file(descriptor: Int32, path: String)
    }

    private let storage: Storage
    let size: Int
    private(set) var offset = 0

    init(bytes: [UInt8]) {
        self.storage = .bytes(bytes)
        self.size = bytes.count
    }

    init(path: String) throws(CurlHTTPError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CurlHTTPError.invalidRequest.with(detail: "cannot open body file \(path): \(Self.errnoText())")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let text = Self.errnoText()
            close(descriptor)
            throw CurlHTTPError.invalidRequest.with(detail: "cannot stat body file \(path): \(text)")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw CurlHTTPError.invalidRequest.with(detail: "body file \(path) is not a regular file")
        }
        self.storage = .file(descriptor: descriptor, path: path)
        self.size = Int(info.st_size)
    }

    deinit {
        if case .file(let descriptor, _) = self.storage {
            close(descriptor)
        }
    }

    /// Copies the next bytes into `buffer`. Returns the count (0 at the end),
    /// or throws when the source fails or shrank below its announced size.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(CurlHTTPError) -> Int {
        let wanted = min(buffer.count, self.size - self.offset)
        guard wanted > 0, let base = buffer.baseAddress else { return 0 }
        switch self.storage {
        case .bytes(let bytes):
            bytes.withUnsafeBytes { source in
                base.copyMemory(from: source.baseAddress! + self.offset, byteCount: wanted)
            }
            self.offset += wanted
            return wanted
        case .file(let descriptor, let path):
            var count: Int
            repeat {
                count = pread(descriptor, base, wanted, off_t(self.offset))
            } while count < 0 && errno == EINTR
            guard count > 0 else {
                let reason = count == 0 ? "file shrank while uploading" : Self.errnoText()
                throw CurlHTTPError.sendFailed.with(detail: "reading body file \(path): \(reason)")
            }
            self.offset += count
            return count
        }
    }

    /// Moves to an absolute offset; false when out of range.
    func seek(to offset: Int) -> Bool {
        guard offset >= 0, offset <= self.size else { return false }
        self.offset = offset
        return true
    }

    private static func errnoText() -> String {
        let code = errno
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
