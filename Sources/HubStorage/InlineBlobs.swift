import Foundation

/// Small blobs kept in the store beside the rows that refer to them, instead of as files.
public enum InlineBlobs {
    /// The largest blob kept in the database; larger ones are files in the blob store.
    public static let limit = 64 * 1024

    /// The most bytes one request holds in memory to keep in the database with its rows (and so the most one
    /// transaction writes of them); a request's small blobs past it are files, like large ones.
    public static let requestBudget = 16 << 20
}

/// Where a blob's bytes are.
public enum BlobContent: Sendable, Equatable {
    /// A file of the blob store.
    case file(String)
    /// Bytes kept in the database.
    case bytes([UInt8])
}
