import Foundation
import HubCore

/// A catalog version's header, without its items.
public struct CatalogVersionInfo: Sendable, Codable, Equatable {
    public var version: String
    public var effectiveFrom: CivilDate
    public var title: String?
    public var itemCount: Int
    public var publishedAt: Timestamp
    public var publishedBy: String?

    public init(
        version: String, effectiveFrom: CivilDate, title: String?, itemCount: Int, publishedAt: Timestamp,
        publishedBy: String?
    ) {
        self.version = version
        self.effectiveFrom = effectiveFrom
        self.title = title
        self.itemCount = itemCount
        self.publishedAt = publishedAt
        self.publishedBy = publishedBy
    }

    enum CodingKeys: String, CodingKey {
        case version, title
        case effectiveFrom = "effective_from"
        case itemCount = "item_count"
        case publishedAt = "published_at"
        case publishedBy = "published_by"
    }
}
