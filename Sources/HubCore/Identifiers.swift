/// Server-generated identifiers: a prefix naming the resource, then a time-ordered random part, so ids sort by
/// creation time (stable cursor pagination) and never collide across restarts or hubs.
public enum GeneratedID {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)  // Crockford base32, lower case

    /// `prefix_` + 10 characters of milliseconds + 16 random characters.
    public static func make(_ prefix: String, at time: Timestamp) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(prefix, at: time, using: &generator)
    }

    public static func make(
        _ prefix: String, at time: Timestamp, using generator: inout some RandomNumberGenerator
    )
        -> String
    {
        var bytes = [UInt8]()
        bytes.reserveCapacity(prefix.utf8.count + 27)
        bytes.append(contentsOf: prefix.utf8)
        bytes.append(UInt8(ascii: "_"))
        let millis = UInt64(max(0, time.millisecondsSinceEpoch))
        for shift in stride(from: 45, through: 0, by: -5) {
            bytes.append(alphabet[Int((millis >> UInt64(shift)) & 31)])
        }
        let random = generator.next()
        for shift in stride(from: 60, through: 0, by: -5) {
            bytes.append(alphabet[Int((random >> UInt64(shift)) & 31)])
        }
        let more = generator.next()
        for shift in stride(from: 10, through: 0, by: -5) {
            bytes.append(alphabet[Int((more >> UInt64(shift)) & 31)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
