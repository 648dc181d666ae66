/// A date and time of the HL7 v2 DTM data type (and of the first component of TS):
/// `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`, with as much precision as was sent.
///
/// Only valid Gregorian calendar values are represented: month 1–12, a day that exists in its month (leap years
/// included), hour 0–23, minute and second 0–59, and a UTC offset of at most ±14:00 with minutes 0–59.
public struct HL7DateTime: Sendable, Hashable, CustomStringConvertible {
    /// How much of a date and time was given: each case includes those before it.
    public enum Precision: Int, Sendable, Hashable, Comparable {
        /// `YYYY`
        case year
        /// `YYYYMM`
        case month
        /// `YYYYMMDD`
        case day
        /// `YYYYMMDDHH`
        case hour
        /// `YYYYMMDDHHMM`
        case minute
        /// `YYYYMMDDHHMMSS`
        case second
        /// `YYYYMMDDHHMMSS.S` to `YYYYMMDDHHMMSS.SSSS`
        case fractionalSecond

        /// Orders precisions from the coarsest (year) to the finest.
        public static func < (lhs: Precision, rhs: Precision) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The year, 1 to 9999.
    public let year: Int
    /// The month, 1 to 12, when given.
    public let month: Int?
    /// The day of the month, when given.
    public let day: Int?
    /// The hour, 0 to 23, when given.
    public let hour: Int?
    /// The minute, 0 to 59, when given.
    public let minute: Int?
    /// The second, 0 to 59, when given.
    public let second: Int?
    /// The offset from UTC in minutes (east positive, e.g. 480 for +0800), when given.
    public let utcOffsetMinutes: Int?
    /// The decimal digits of the fraction of a second as a number, when given (`.05` gives 5).
    private let fractionValue: Int?
    /// How many decimal digits the fraction of a second has, 1 to 4 (0 when there is none).
    private let fractionDigits: Int

    /// The fraction of the second in whole milliseconds (a fourth decimal digit is cut off), when given.
    public var milliseconds: Int? {
        guard let fractionValue else { return nil }
        switch fractionDigits {
        case 1: return fractionValue * 100
        case 2: return fractionValue * 10
        case 3: return fractionValue
        default: return fractionValue / 10
        }
    }

    /// The finest part that was given.
    public var precision: Precision {
        if fractionValue != nil { return .fractionalSecond }
        if second != nil { return .second }
        if minute != nil { return .minute }
        if hour != nil { return .hour }
        if day != nil { return .day }
        if month != nil { return .month }
        return .year
    }

    /// A date and time from its parts; nil when a part is out of range, or a part is given without the coarser ones
    /// (a day without a month, milliseconds without seconds). `milliseconds` is written with three digits.
    public init?(
        year: Int, month: Int? = nil, day: Int? = nil, hour: Int? = nil, minute: Int? = nil, second: Int? = nil,
        milliseconds: Int? = nil, utcOffsetMinutes: Int? = nil
    ) {
        if let milliseconds, !(0...999).contains(milliseconds) { return nil }
        self.init(
            checkingYear: year, month: month, day: day, hour: hour, minute: minute, second: second,
            fraction: milliseconds.map { ($0, 3) }, utcOffsetMinutes: utcOffsetMinutes)
    }

    private init?(
        checkingYear year: Int, month: Int?, day: Int?, hour: Int?, minute: Int?, second: Int?,
        fraction: (value: Int, digits: Int)?, utcOffsetMinutes: Int?
    ) {
        let parts = [month, day, hour, minute, second, fraction.map(\.value)]
        // Once a part is absent, every finer part must be absent too.
        let firstAbsent = parts.firstIndex { $0 == nil } ?? parts.count
        guard parts[firstAbsent...].allSatisfy({ $0 == nil }) else { return nil }
        guard (1...9999).contains(year) else { return nil }
        if let month {
            guard (1...12).contains(month) else { return nil }
            if let day { guard (1...Self.daysIn(month: month, year: year)).contains(day) else { return nil } }
        }
        if let hour { guard (0...23).contains(hour) else { return nil } }
        if let minute { guard (0...59).contains(minute) else { return nil } }
        if let second { guard (0...59).contains(second) else { return nil } }
        if let utcOffsetMinutes {
            guard abs(utcOffsetMinutes) <= 14 * 60 else { return nil }
        }
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        fractionValue = fraction?.value
        fractionDigits = fraction?.digits ?? 0
        self.utcOffsetMinutes = utcOffsetMinutes
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Reads a DTM (or the first component of a TS) such as `20261207103000+0800`; nil when the text is not one or
    /// names an impossible date, time or offset. No spaces are allowed.
    public static func parse(_ text: String) -> HL7DateTime? {
        let bytes = Array(text.utf8)
        var end = bytes.count
        var offset: Int?
        if let sign = bytes.firstIndex(where: { $0 == 0x2B || $0 == 0x2D }) {
            guard bytes.count - sign == 5, let hours = number(bytes[(sign + 1)..<(sign + 3)]),
                let minutes = number(bytes[(sign + 3)..<(sign + 5)]), minutes < 60
            else { return nil }
            offset = (hours * 60 + minutes) * (bytes[sign] == 0x2D ? -1 : 1)
            end = sign
        }
        var digitsEnd = end
        var fraction: (value: Int, digits: Int)?
        if let dot = bytes[..<end].firstIndex(of: 0x2E) {
            let fractionDigits = bytes[(dot + 1)..<end]
            guard dot == 14, (1...4).contains(fractionDigits.count), let value = number(fractionDigits) else {
                return nil
            }
            fraction = (value, fractionDigits.count)
            digitsEnd = dot
        }
        guard [4, 6, 8, 10, 12, 14].contains(digitsEnd), let year = number(bytes[0..<4]) else { return nil }
        func part(_ start: Int) -> Int? { start + 2 <= digitsEnd ? number(bytes[start..<(start + 2)]) : nil }
        // A part that is present but not digits fails here: `part` gives nil only past the end.
        for start in stride(from: 4, to: digitsEnd, by: 2) where part(start) == nil { return nil }
        return HL7DateTime(
            checkingYear: year, month: part(4), day: part(6), hour: part(8), minute: part(10), second: part(12),
            fraction: fraction, utcOffsetMinutes: offset)
    }

    /// The value of decimal ASCII digits, or nil when any byte is not one.
    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    /// The DTM text, to the precision held, e.g. `20261207103000+0800` or `202612`.
    public func format() -> String {
        var text = Self.padded(year, 4)
        for part in [month, day, hour, minute, second] {
            guard let part else { break }
            text += Self.padded(part, 2)
        }
        if let fractionValue { text += "." + Self.padded(fractionValue, fractionDigits) }
        if let utcOffsetMinutes {
            let magnitude = abs(utcOffsetMinutes)
            text += (utcOffsetMinutes < 0 ? "-" : "+") + Self.padded(magnitude / 60, 2) + Self.padded(magnitude % 60, 2)
        }
        return text
    }

    /// The DTM text, as `format()` gives it.
    public var description: String { format() }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
