import Foundation
import HubCore
import Synchronization

/// Published catalog versions. A version never changes once published, so its index is cached in memory for the
/// life of the process. The short list of versions is checked against the database each time, so a publish is seen by
/// every reader as soon as it commits.
public final class CatalogStore: Sendable {
    private let indexes = Mutex([String: CatalogIndex]())
    /// The versions as last read; see `versions(_:)`.
    private let listed = Mutex<[CatalogVersionInfo]?>(nil)
    /// Encoded answers about one item of one version, by version and code; see `encoded(version:code:make:)`.
    private let answers = Mutex([String: Data]())

    public init() {}

    /// Stores a validated version. Fails with a conflict when the version name exists.
    public func publish(
        _ store: any StoreWriter, _ version: CatalogVersion, publishedBy: String?, now: Timestamp
    ) throws
        -> CatalogVersionInfo
    {
        try version.validate()
        return try store.publish(version, publishedBy: publishedBy, now: now)
    }

    /// The answer about item `code` of `version`, made by `make` the first time: a published version never changes,
    /// so neither does what is said about its items.
    public func encoded(version: String, code: String, make: () throws -> Data) rethrows -> Data {
        let key = version + "\u{0}" + code
        if let cached = answers.withLock({ $0[key] }) { return cached }
        let made = try make()
        answers.withLock { answers in
            if answers.count >= 100_000 { answers.removeAll(keepingCapacity: true) }
            answers[key] = made
        }
        return made
    }

    /// Every version, oldest publication first.
    public func versions(_ store: any StoreReader) throws -> [CatalogVersionInfo] {
        // Most requests ask: the list is kept while the number of versions and the last one stay the same, which one
        // indexed lookup tells.
        let (count, last) = try store.catalogShape()
        if let cached = listed.withLock({ $0 }), cached.count == count, cached.last?.version == last {
            return cached
        }
        let versions = try store.catalogVersions()
        store.whenCommitted { [self] in listed.withLock { $0 = versions } }
        return versions
    }

    /// A whole version with its lookup tables.
    public func index(_ store: any StoreReader, version: String) throws -> CatalogIndex? {
        if let cached = indexes.withLock({ $0[version] }) { return cached }
        guard let info = try versions(store).first(where: { $0.version == version }) else { return nil }
        let index = CatalogIndex(
            CatalogVersion(
                version: info.version, effectiveFrom: info.effectiveFrom, title: info.title,
                items: try store.catalogItems(version: version)))
        store.whenCommitted { [self] in indexes.withLock { $0[version] = index } }
        return index
    }

    /// The version in force on `date`.
    public func inForce(_ store: any StoreReader, on date: CivilDate) throws -> CatalogIndex? {
        guard let info = CatalogSchedule.inForce(try versions(store), on: date, effectiveFrom: \.effectiveFrom) else {
            return nil
        }
        return try index(store, version: info.version)
    }
}
