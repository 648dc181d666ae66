import Foundation
import HubCore

/// The hub's store as the use cases see it: transactions made of intent-named reads and writes (what a use case asks,
/// never SQL), answered by one backend. The SQLite store (`HubStore`) is the one in the box.
///
/// **Writes.** `write` runs `body` as one atomic transaction and returns once it has committed, durably: all of its
/// changes or, when it throws, none. The store may run writes that arrive together in one shared transaction (group
/// commit), each in a savepoint of its own; a write that fails rolls back only its own changes. So `body`:
/// - may run more than once (when a shared transaction is retried), and must do nothing but use `store`: no sending,
///   no file written, no counter bumped outside it; work to do after the commit goes into the returned value;
/// - sees the effects of writes that ran before it in the same shared transaction, which have not committed yet;
/// - runs on a thread the store owns, synchronously; it never suspends.
/// `alone` asks for a transaction of its own, for a large write (thousands of rows, a chunk of a bulk load).
///
/// **Reads.** `read` runs `body` on a snapshot of committed data. `shortRead` is for a few rows found through an index
/// (an authentication, a recognition check): the store may answer it on the calling thread. Reads that scan (lists,
/// statistics, exports) use `read`.
public protocol Storage: Sendable {
    func write<T: Sendable>(alone: Bool, _ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T
    func shortRead<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T

    /// Resolved bearer tokens, by digest. Writes that change a token, practitioner or institution clear it at commit
    /// (`StoreWriter.invalidateCachedPrincipals`), on this process; `noticeOtherWriters` clears it for changes made by
    /// another.
    var principals: PrincipalCache { get }
    /// Institutions by id, for the hot paths that read them on every request; cleared with `principals`.
    var institutions: RecordCache<Institution> { get }
    /// Clears the caches when another process changed a token, practitioner or institution since the last look; call
    /// it before a cache lookup. Cheap: it looks at most about once a second.
    func noticeOtherWriters() async

    /// Brings the store's schema up to date: every migration not yet applied runs, in order.
    func migrate() async throws
    /// True once the store answers a query and every known migration has run.
    func isReady() async -> Bool

    /// Runs the rewrite of patient keys if it is still to do (`PatientRekey`); answers what it rewrote.
    func rekeyPatientsIfPending(keys: PatientKeys) async throws -> PatientRekey.Outcome
}

extension Storage {
    /// A write in a transaction that may be shared (see `Storage`).
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        try await write(alone: false, body)
    }

    /// The institution, from the cache when it is there, else by a short read.
    public func institution(id: String) async throws -> Institution? {
        if let cached = institutions.lookup(id).0 { return cached }
        return try await shortRead { try $0.cachedInstitution(id: id) }
    }

    /// Where a blob's bytes are, in a read of its own.
    public func blobContent(sha256: String, files: BlobStore) async throws -> BlobContent {
        try await read { try $0.blobContent(sha256: sha256, files: files) }
    }
}

/// Everything a transaction may read.
public protocol StoreReader: RegistryReads, TokenReads, ExamReads, CriticalValueReads, ResultReads, RecognitionReads,
    DICOMIndexReads, IdempotencyReads, InlineBlobReads, OutboxReads, WebhookReads, PeerReads, AuditReads, CatalogReads,
    DICOMNodeReads, PatientIndexReads, HL7Reads
{
    /// The institution, from the cache when it is there, else read (and cached when the read is of committed data,
    /// from a snapshot no older than the cache's last clearing).
    func cachedInstitution(id: String) throws -> Institution?

    /// Runs `action` once what this transaction read is known committed: now in a read, after the commit in a write
    /// (whose reads may see rows of writes not committed yet). For caches of committed data.
    func whenCommitted(_ action: @escaping @Sendable () -> Void)
}

/// Everything a write transaction may read and change.
public protocol StoreWriter: StoreReader, RegistryWrites, TokenWrites, ExamWrites, CriticalValueWrites, ResultWrites,
    RecognitionWrites, DICOMIndexWrites, IdempotencyWrites, InlineBlobWrites, OutboxWrites, WebhookWrites, PeerWrites,
    AuditWrites, CatalogWrites, DICOMNodeWrites, PatientIndexWrites, HL7Writes
{
    /// Clears the principal and institution caches once this transaction commits (or rolls back). Every write that
    /// changes a token, practitioner or institution calls it.
    func invalidateCachedPrincipals()
}

/// Published catalog versions (`CatalogStore` keeps what they say in memory).
public protocol CatalogReads {
    /// How many versions are published, and the name of the last: a version is never changed or removed once
    /// published, so a list with the same count and last name is the same list.
    func catalogShape() throws -> (count: Int, last: String?)
    /// Every version, oldest publication first.
    func catalogVersions() throws -> [CatalogVersionInfo]
    /// The items of a version, in their order; empty for an unknown version.
    func catalogItems(version: String) throws -> [CatalogItem]
}

/// Published catalog versions. What a write may change.
public protocol CatalogWrites: CatalogReads {
    /// Stores a validated version after the last. Fails with a conflict when the version name exists.
    func publish(_ version: CatalogVersion, publishedBy: String?, now: Timestamp) throws -> CatalogVersionInfo
}

/// How far a commit reaches before the write that made it returns.
public enum Durability: String, Sendable, CaseIterable {
    /// Each commit is flushed to disk (SQLite `synchronous = FULL`) before the write returns: a write that was
    /// answered survives a power loss. Group commit flushes once per batch of writes, not once per write.
    case full
    /// The write-ahead log is flushed only at checkpoints (`synchronous = NORMAL`): an application crash loses
    /// nothing, but a power loss or kernel crash may lose the last writes, already answered. Never corrupts the file.
    case normal
}

/// A failure of the store itself (not of what was asked of it).
public protocol StoreFailure: Error {
    /// Whether the write may succeed when tried again: the disk full or failing, the store busy or locked, memory
    /// short, the statement interrupted. Other failures (a constraint, a misuse) fail the same way again.
    var mayPass: Bool { get }
}

extension Timestamp {
    /// The current time, to the millisecond.
    public static func now() -> Timestamp {
        Timestamp(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
