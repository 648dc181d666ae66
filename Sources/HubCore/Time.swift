/// A calendar date without time or zone (birth dates, qualification validity, catalog effective dates).
///
/// Kept in HubCore without Foundation so date arithmetic in the rules is exact, cheap and testable.
public struct CivilDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Fails for dates that do not exist (2026-02-30) and years outside 1800...9999.
    public init?(year: Int, month: Int, day: Int) {
        guard (1800...9999).contains(year), (1...12).contains(month), day >= 1,
            day <= CivilDate.daysInMonth(year: year, month: month)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses exactly `YYYY-MM-DD`.
    public init?(_ text: some StringProtocol) {
        var text = String(text)
        guard let date = text.withUTF8({ CivilDate(utf8: $0[...]) }) else { return nil }
        self = date
    }

    /// Parses exactly `YYYY-MM-DD` from its UTF-8.
    init?(utf8 bytes: Slice<UnsafeBufferPointer<UInt8>>) {
        let start = bytes.startIndex
        guard bytes.count == 10, bytes[start + 4] == UInt8(ascii: "-"), bytes[start + 7] == UInt8(ascii: "-"),
            let y = Digits.parse(bytes[start..<start + 4]), let m = Digits.parse(bytes[start + 5..<start + 7]),
            let d = Digits.parse(bytes[start + 8..<start + 10])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Parses the DICOM `DA` form `YYYYMMDD`.
    public init?(compact text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == 8, let y = Digits.parse(bytes[0..<4]), let m = Digits.parse(bytes[4..<6]),
            let d = Digits.parse(bytes[6..<8])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Days since 1970-01-01 (proleptic Gregorian), after Howard Hinnant's `days_from_civil`.
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public init(daysSinceEpoch z0: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.month = m
        self.day = d
    }

    public func adding(days: Int) -> CivilDate { CivilDate(daysSinceEpoch: daysSinceEpoch + days) }

    /// Midnight at the start of this date in the given UTC offset (China: +8 h).
    public func startTimestamp(utcOffsetMinutes: Int = 0) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: Int64(daysSinceEpoch) * 86_400_000 - Int64(utcOffsetMinutes) * 60_000)
    }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    public var description: String {
        // Every date these types make has a four-digit year; others are written as they come.
        guard (0...9999).contains(year) else {
            return Digits.pad(year, 4) + "-" + Digits.pad(month, 2) + "-" + Digits.pad(day, 2)
        }
        return String(unsafeUninitializedCapacity: 10) { text in
            write(into: text)
            return 10
        }
    }

    /// `YYYY-MM-DD` in the first ten bytes of `text` (a year of four digits).
    fileprivate func write(into text: UnsafeMutableBufferPointer<UInt8>) {
        Digits.write(year, width: 4, into: text, at: 0)
        text[4] = UInt8(ascii: "-")
        Digits.write(month, width: 2, into: text, at: 5)
        text[7] = UInt8(ascii: "-")
        Digits.write(day, width: 2, into: text, at: 8)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = CivilDate(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a date as YYYY-MM-DD, got '\(text)'")
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An instant, stored as milliseconds since the Unix epoch and written as RFC 3339 UTC.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// Parses RFC 3339 (`2026-03-01T08:30:00Z`, fractional seconds and `+08:00` offsets accepted).
    public init?(rfc3339 text: some StringProtocol) {
        var text = String(text)
        guard let milliseconds = text.withUTF8({ Self.milliseconds(rfc3339: $0) }) else { return nil }
        self.millisecondsSinceEpoch = milliseconds
    }

    /// The instant RFC 3339 text names, in milliseconds since the epoch.
    private static func milliseconds(rfc3339 b: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard b.count >= 20, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            let date = CivilDate(utf8: b[0..<10]),
            let hh = Digits.parse(b[11..<13]), let mm = Digits.parse(b[14..<16]), let ss = Digits.parse(b[17..<19]),
            hh < 24, mm < 60, ss < 61
        else { return nil }
        var i = 19
        var millis = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, (48...57).contains(b[i]) {
                if digits < 3 { millis = millis * 10 + Int(b[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        guard i < b.count else { return nil }
        var offsetMinutes = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard b.count == i + 6, b[i + 3] == UInt8(ascii: ":"), let oh = Digits.parse(b[(i + 1)..<(i + 3)]),
                let om = Digits.parse(b[(i + 4)..<(i + 6)]), oh < 24, om < 60
            else { return nil }
            offsetMinutes = (oh * 60 + om) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let seconds =
            Int64(date.daysSinceEpoch) * 86_400 + Int64(hh * 3600 + mm * 60 + min(ss, 59))
            - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millisecondsSinceEpoch < b.millisecondsSinceEpoch }

    public func adding(milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + milliseconds)
    }

    public func adding(days: Int) -> Timestamp { adding(milliseconds: Int64(days) * 86_400_000) }

    /// The calendar date of this instant at the given UTC offset.
    public func civilDate(utcOffsetMinutes: Int = 0) -> CivilDate {
        let local = millisecondsSinceEpoch + Int64(utcOffsetMinutes) * 60_000
        return CivilDate(daysSinceEpoch: Int(local.floorDivided(by: 86_400_000)))
    }

    /// RFC 3339 in UTC with millisecond precision: `2026-03-01T00:30:00.000Z`.
    public var description: String {
        let days = millisecondsSinceEpoch.floorDivided(by: 86_400_000)
        let msOfDay = Int(millisecondsSinceEpoch - days * 86_400_000)
        let date = CivilDate(daysSinceEpoch: Int(days))
        let h = msOfDay / 3_600_000
        let m = msOfDay / 60_000 % 60
        let s = msOfDay / 1000 % 60
        let ms = msOfDay % 1000
        guard (0...9999).contains(date.year) else {
            return date.description + "T" + Digits.pad(h, 2) + ":" + Digits.pad(m, 2) + ":" + Digits.pad(s, 2) + "."
                + Digits.pad(ms, 3) + "Z"
        }
        // Written in place: this is in every stored document, several times.
        return String(unsafeUninitializedCapacity: 24) { text in
            date.write(into: text)
            text[10] = UInt8(ascii: "T")
            Digits.write(h, width: 2, into: text, at: 11)
            text[13] = UInt8(ascii: ":")
            Digits.write(m, width: 2, into: text, at: 14)
            text[16] = UInt8(ascii: ":")
            Digits.write(s, width: 2, into: text, at: 17)
            text[19] = UInt8(ascii: ".")
            Digits.write(ms, width: 3, into: text, at: 20)
            text[23] = UInt8(ascii: "Z")
            return 24
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected an RFC 3339 time such as 2026-03-01T08:30:00Z, got '\(text)'"
            )
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Int64 {
    fileprivate func floorDivided(by d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}

enum Digits {
    static func parse(_ bytes: some Collection<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard (48...57).contains(byte) else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return bytes.isEmpty ? nil : value
    }

    /// `value` (0 ≤ value < 10^width) as `width` ASCII digits at `text[start...]`.
    static func write(_ value: Int, width: Int, into text: UnsafeMutableBufferPointer<UInt8>, at start: Int) {
        var value = value
        for index in (start..<start + width).reversed() {
            text[index] = 0x30 + UInt8(truncatingIfNeeded: value % 10)
            value /= 10
        }
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

extension Duration {
    /// The duration in whole milliseconds (rounded down).
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
