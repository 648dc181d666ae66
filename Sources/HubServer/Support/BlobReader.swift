import Foundation
import HubStorage
import Hummingbird
import NIOCore

/// A blob opened for an answer: a file of the blob store, or bytes kept in the database.
enum BlobReader: Sendable {
    case file(FileHandle)
    case bytes([UInt8])

    /// Writes the blob to an answer's body, a file 256 KiB at a time, and closes it.
    func write(to writer: inout any ResponseBodyWriter) async throws {
        switch self {
        case .bytes(let bytes):
            try await writer.write(ByteBuffer(bytes: bytes))
        case .file(let handle):
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: 256 * 1024), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
        }
    }
}

extension BlobContent {
    /// Opens the blob, so that a missing file fails here, before an answer starts.
    func open() throws -> BlobReader {
        switch self {
        case .bytes(let bytes): .bytes(bytes)
        case .file(let path): .file(try FileHandle(forReadingFrom: URL(fileURLWithPath: path)))
        }
    }
}
