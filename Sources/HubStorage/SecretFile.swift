import Foundation

#if canImport(Glibc)
    import Glibc

    private let systemRead = Glibc.read
    private let systemWrite = Glibc.write
#elseif canImport(Darwin)
    import Darwin

    private let systemRead = Darwin.read
    private let systemWrite = Darwin.write
#endif

/// Files that hold secrets (keys, the admin token): readable by the owner only from their first byte, and never
/// quietly replaced when they exist but cannot be read.
public enum SecretFile {
    /// A secret file that exists but cannot be used. The hub stops instead of writing a new one, which would orphan
    /// everything the old secret protects (patient key hashes, the federation identity).
    public struct Unusable: Error, CustomStringConvertible, Equatable {
        public var path: String
        public var reason: String

        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }

        public var description: String {
            "the secret file \(path) exists but \(reason); the hub will not replace it (that would orphan what it "
                + "protects): restore it from a backup, or give the hub's user read access to it"
        }
    }

    /// The file's bytes, or nil when there is no file at `path`. A file that exists but cannot be opened or read
    /// throws `Unusable`.
    public static func read(_ path: String) throws -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw Unusable(path: path, reason: "cannot be read (\(String(cString: strerror(code))))")
        }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw Unusable(path: path, reason: "cannot be read (\(String(cString: strerror(code))))")
            }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return data
    }

    /// Writes `contents` to `path` as a new file of mode 0600: a temporary file created with `O_CREAT | O_EXCL` and
    /// that mode (so no other user can open it even for a moment), flushed, then renamed over `path`, or, with
    /// `replacing` false, linked to `path` only when nothing is there yet (a key is never overwritten; `EEXIST`
    /// throws `Exists`). The folder is created with mode 0700 when missing.
    public static func write(_ path: String, contents: Data, replacing: Bool = true) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try createPrivateDirectory(directory) }
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw Unusable(path: path, reason: "cannot be written (\(String(cString: strerror(errno))))")
        }
        var failure: Int32 = 0
        contents.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += n
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0 {
            if replacing {
                if rename(temporary, path) != 0 { failure = errno }
            } else {
                if link(temporary, path) != 0 { failure = errno }
                unlink(temporary)
            }
        }
        if failure != 0 {
            unlink(temporary)
            if failure == EEXIST { throw Exists(path: path) }
            throw Unusable(path: path, reason: "cannot be written (\(String(cString: strerror(failure))))")
        }
    }

    /// `write(_:contents:replacing: false)` found a file already there (another process created it first).
    public struct Exists: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "\(path) already exists" }
    }

    /// The key in the file at `path`, or a new one from `make` written there (mode 0600) when there is none. A file
    /// that exists but cannot be read, or that `decode` refuses (corrupt, short), throws `Unusable` and is left as it
    /// is. Two processes creating the key at once agree on the one written first.
    public static func loadOrCreate<Key>(
        _ path: String, decode: (Data) -> Key?, make: () -> (Key, Data)
    ) throws -> Key {
        for _ in 0..<2 {
            if let data = try read(path) {
                guard let key = decode(data) else {
                    throw Unusable(path: path, reason: "does not hold a valid key (corrupt or cut short)")
                }
                return key
            }
            let (key, contents) = make()
            do {
                try write(path, contents: contents, replacing: false)
                return key
            } catch is Exists {
                continue
            }
        }
        throw Unusable(path: path, reason: "appeared and vanished while the hub was creating it")
    }

    /// Tightens an existing folder to mode 0700 (owner only), creating it when missing. Returns the mode it had when it
    /// was wider.
    @discardableResult
    public static func makePrivate(directory path: String) throws -> mode_t? {
        try createPrivateDirectory(path)
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 != 0 else { return nil }
        guard chmod(path, 0o700) == 0 else {
            throw Unusable(path: path, reason: "cannot be made private (\(String(cString: strerror(errno))))")
        }
        return mode
    }

    /// Creates `path` (and missing parents) with mode 0700; an existing folder keeps its mode.
    public static func createPrivateDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }
}
