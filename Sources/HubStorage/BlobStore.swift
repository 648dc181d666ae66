import Crypto
import Dispatch
import Foundation
import HubCore

/// Attachments on disk, named by their SHA-256: written to a temporary file while they stream in, hashed on the
/// way, flushed to disk, and renamed into place only when complete. A half-written upload never becomes a blob.
public final class BlobStore: Sendable {
    public let root: String

    public init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
        // The 256 first-level folders, made once: a new blob's folder then adds one flush (of its parent), not two.
        // The root is flushed at every start, also when the folders were there: a crash may have come between their
        // creation and the flush.
        for byte in 0...255 {
            let folder = root + "/" + Hex.encode([UInt8(byte)])
            guard mkdir(folder, 0o755) == 0 || errno == EEXIST else {
                throw HubError.unavailable("cannot create the blob folder \(folder): \(FileSync.lastError())")
            }
        }
        try BlobWriter.flushDirectory(root)
    }

    /// Where a blob lives: `<root>/ab/cd/abcd…`.
    public func path(for sha256: String) -> String {
        let a = sha256.prefix(2)
        let b = sha256.dropFirst(2).prefix(2)
        return "\(root)/\(a)/\(b)/\(sha256)"
    }

    /// Starts a new upload, held in memory (`head`) while it is at most `keepInMemory` bytes.
    public func writer(limit: Int, keepInMemory: Int = 0) throws -> BlobWriter {
        try BlobWriter(store: self, limit: limit, keepInMemory: keepInMemory)
    }
}

/// One upload in progress. Not thread-safe: one task feeds it, chunk by chunk.
///
/// The first `keepInMemory` bytes are held in memory and no file is made for them: an upload that fits is checked,
/// and may be kept in the database (`InlineBlobs`), without touching the file system. Once the bytes outgrow it they
/// go to a temporary file, and from then on stream to it chunk by chunk.
public final class BlobWriter {
    public let temporaryPath: String
    private let store: BlobStore
    private var handle: FileHandle?
    private var hasher = SHA256()
    private let limit: Int
    private let keepInMemory: Int
    public private(set) var size = 0
    /// All the bytes written, while they fit in the `keepInMemory` asked for (`isWhollyInMemory`); empty after.
    public private(set) var head: [UInt8] = []
    public var isWhollyInMemory: Bool { handle == nil }
    private var closed = false

    init(store: BlobStore, limit: Int, keepInMemory: Int = 0) throws {
        self.store = store
        self.limit = limit
        self.keepInMemory = keepInMemory
        temporaryPath = "\(store.root)/tmp/\(UUID().uuidString)"
    }

    /// Makes the temporary file with the bytes held in memory; `abort` removes it should anything fail after.
    private static func spill(_ head: [UInt8], to path: String) throws -> FileHandle {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw HubError.unavailable("cannot create a temporary file in the blob store: \(FileSync.lastError())")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        try head.withUnsafeBytes { try write($0, to: handle) }
        return handle
    }

    private static func write(_ bytes: UnsafeRawBufferPointer, to handle: FileHandle) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try handle.write(
            contentsOf: Data(
                bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count, deallocator: .none))
    }

    /// Flushes the file's bytes (and the size that finds them) to disk.
    private static func flush(_ handle: FileHandle) throws {
        guard fdatasync(handle.fileDescriptor) == 0 else {
            throw HubError.unavailable("cannot flush a blob to disk: \(FileSync.lastError())")
        }
    }

    /// Appends a chunk; past the limit the upload is refused and its file removed.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        size += bytes.count
        if size > limit {
            abort()
            throw HubError.payloadTooLarge(limit: limit)
        }
        hasher.update(bufferPointer: bytes)
        if handle == nil {
            if size <= keepInMemory {
                head.append(contentsOf: bytes)
                return
            }
            handle = try Self.spill(head, to: temporaryPath)
            head = []
        }
        try Self.write(bytes, to: handle!)
    }

    /// The digest of an upload held wholly in memory (its bytes are `head`), which no file will be made for.
    public func finishInMemory() -> String {
        precondition(isWhollyInMemory && !closed, "finishInMemory is for an upload held in memory")
        closed = true
        return hasher.finalize().withUnsafeBytes(Hex.encode)
    }

    /// Flushes the file to disk and returns its digest; the file stays at `temporaryPath` until `commit`.
    public func finish() async throws -> String {
        let (existing, head, temporary) = (handle, self.head, temporaryPath)
        let handle = try await Self.offload {
            let handle = try existing ?? Self.spill(head, to: temporary)
            try Self.flush(handle)
            return handle
        }
        (self.handle, self.head) = (handle, [])
        try handle.close()
        closed = true
        return hasher.finalize().withUnsafeBytes(Hex.encode)
    }

    /// Moves the finished file into place under its digest (a blob already there is kept: same digest, same bytes).
    public func commit(sha256: String) async throws {
        let target = store.path(for: sha256)
        let temporary = temporaryPath
        try await Self.offload { try Self.move(temporary, to: target) }
    }

    /// `finish` and `commit` in one step, for a file already checked from `head`: flushed, moved into place under
    /// its digest, and the directory entry flushed, with one hop off the cooperative pool.
    public func finishAndCommit() async throws -> String {
        let sha256 = hasher.finalize().withUnsafeBytes(Hex.encode)
        let target = store.path(for: sha256)
        let (existing, head, temporary) = (handle, self.head, temporaryPath)
        try await Self.offload {
            let handle = try existing ?? Self.spill(head, to: temporary)
            try Self.flush(handle)
            try handle.close()
            try Self.move(temporary, to: target)
        }
        closed = true
        return sha256
    }

    /// Moves a flushed file into place, and flushes the directory entry, without which the rename is not durable. A
    /// blob already there is replaced by the same bytes (same digest), atomically, so two uploads of one file at once
    /// both succeed.
    static func move(_ temporary: String, to target: String) throws {
        let directory = (target as NSString).deletingLastPathComponent
        if rename(temporary, target) != 0 {
            guard errno == ENOENT else { throw HubError.unavailable("cannot store a blob: \(FileSync.lastError())") }
            // A new `cd` folder in its `ab` (made with the store): its own entry must be durable too, or the blob is
            // lost with it. Should `ab` be gone, it is made again, and its entry flushed as well.
            let parent = (directory as NSString).deletingLastPathComponent
            if mkdir(directory, 0o755) != 0 && errno != EEXIST {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try flushDirectory((parent as NSString).deletingLastPathComponent)
            }
            guard rename(temporary, target) == 0 else {
                throw HubError.unavailable("cannot store a blob: \(FileSync.lastError())")
            }
            try flushDirectory(parent)
        }
        try flushDirectory(directory)
    }

    /// Flushes a folder's entries to disk.
    static func flushDirectory(_ path: String) throws {
        do { try FileSync.flush(path) } catch { throw HubError.unavailable("cannot flush the blob store: \(error)") }
    }

    /// Drops the upload.
    public func abort() {
        if !closed {
            try? handle?.close()
            closed = true
        }
        unlink(temporaryPath)
    }

    /// Runs blocking file-system work off the cooperative pool.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            DispatchQueue.global().async {
                do {
                    continuation.resume(returning: try work())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
