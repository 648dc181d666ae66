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
    }

    /// Where a blob lives: `<root>/ab/cd/abcd…`.
    public func path(for sha256: String) -> String {
        let a = sha256.prefix(2)
        let b = sha256.dropFirst(2).prefix(2)
        return "\(root)/\(a)/\(b)/\(sha256)"
    }

    public func exists(_ sha256: String) -> Bool {
        FileManager.default.fileExists(atPath: path(for: sha256))
    }

    /// Starts a new upload.
    public func writer(limit: Int) throws -> BlobWriter {
        try BlobWriter(store: self, limit: limit)
    }
}

/// One upload in progress. Not thread-safe: one task feeds it, chunk by chunk.
public final class BlobWriter {
    public let temporaryPath: String
    private let store: BlobStore
    private let handle: FileHandle
    private var hasher = SHA256()
    private let limit: Int
    public private(set) var size = 0
    private var closed = false

    init(store: BlobStore, limit: Int) throws {
        self.store = store
        self.limit = limit
        temporaryPath = "\(store.root)/tmp/\(UUID().uuidString)"
        guard
            FileManager.default.createFile(atPath: temporaryPath, contents: nil, attributes: [.posixPermissions: 0o600])
        else {
            throw HubError.unavailable("cannot create a temporary file in the blob store")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporaryPath))
    }

    /// Appends a chunk; past the limit the upload is refused and its file removed.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        size += bytes.count
        if size > limit {
            abort()
            throw HubError.payloadTooLarge(limit: limit)
        }
        hasher.update(bufferPointer: bytes)
        try handle.write(
            contentsOf: Data(
                bytesNoCopy: UnsafeMutableRawPointer(mutating: bytes.baseAddress!), count: bytes.count,
                deallocator: .none))
    }

    /// Flushes the file to disk and returns its digest; the file stays at `temporaryPath` until `commit`.
    public func finish() async throws -> String {
        let handle = self.handle
        try await Self.offload { try handle.synchronize() }
        try handle.close()
        closed = true
        return Hex.encode(hasher.finalize())
    }

    /// Moves the finished file into place under its digest (a blob already there is kept: same digest, same bytes).
    public func commit(sha256: String) async throws {
        let target = store.path(for: sha256)
        let temporary = temporaryPath
        try await Self.offload {
            let manager = FileManager.default
            try manager.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if manager.fileExists(atPath: target) {
                try manager.removeItem(atPath: temporary)
            } else {
                try manager.moveItem(atPath: temporary, toPath: target)
                // The rename is durable only once the directory entry is flushed too.
                let directory = open((target as NSString).deletingLastPathComponent, O_RDONLY)
                if directory >= 0 {
                    fsync(directory)
                    close(directory)
                }
            }
        }
    }

    /// Drops the upload.
    public func abort() {
        if !closed {
            try? handle.close()
            closed = true
        }
        try? FileManager.default.removeItem(atPath: temporaryPath)
    }

    /// Runs blocking file-system work off the cooperative pool.
    static func offload(_ work: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                do {
                    try work()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
