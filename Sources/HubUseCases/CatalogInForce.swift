import HubConfig
import HubCore
import HubStorage

/// The recognition catalog in force on the hub's civil date (`hub.utc_offset_minutes`).
public struct CatalogInForce: Sendable {
    let catalog: CatalogStore
    let utcOffsetMinutes: Int

    public init(_ env: HubEnvironment) {
        catalog = env.catalog
        utcOffsetMinutes = env.config.utcOffsetMinutes
    }

    /// The hub's civil date at `time`.
    func today(at time: Timestamp) -> CivilDate { time.civilDate(utcOffsetMinutes: utcOffsetMinutes) }

    /// The version in force at `time`, if one is.
    func index(_ db: any StoreReader, at time: Timestamp) throws -> CatalogIndex? {
        try catalog.inForce(db, on: today(at: time))
    }

    /// The version in force at `time`; without one, a conflict that says so.
    func required(
        _ db: any StoreReader, at time: Timestamp, _ detail: String = "no recognition catalog is in force"
    )
        throws -> CatalogIndex
    {
        guard let index = try index(db, at: time) else { throw HubError.conflict(detail) }
        return index
    }
}
