import Foundation

/// Remembered answers to writes sent with an `Idempotency-Key`: a retried request gets the first answer.
public enum IdempotencyStore {
    /// The answer given the first time.
    public struct Replay: Sendable, Equatable {
        public var status: Int
        public var body: Data

        public init(status: Int, body: Data) {
            self.status = status
            self.body = body
        }
    }

    /// How long a key is remembered.
    public static let retention: Int64 = 24 * 3600 * 1000
}
