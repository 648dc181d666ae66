import HubCore
import Testing

@Suite struct CivilDateTests {
    @Test(arguments: [
        "2026-02-29", "2025-13-01", "2025-00-10", "2025-04-31", "2025-4-01", "20250401", "", "abcd-ef-gh",
    ])
    func invalidDatesAreRefused(_ text: String) {
        #expect(CivilDate(text) == nil)
    }

    @Test func leapDayExistsOnlyInLeapYears() {
        #expect(CivilDate("2024-02-29") != nil)
        #expect(CivilDate("2000-02-29") != nil)
        #expect(CivilDate("1900-02-29") == nil)
    }

    @Test func dayArithmeticRoundTripsAcrossYears() {
        var date = CivilDate("1969-12-25")!
        for _ in 0..<800 {
            let next = date.adding(days: 1)
            #expect(next > date)
            #expect(next.daysSinceEpoch == date.daysSinceEpoch + 1)
            #expect(CivilDate(next.description) == next)
            date = next
        }
        #expect(CivilDate("1970-01-01")!.daysSinceEpoch == 0)
        #expect(CivilDate("2026-03-01")!.adding(days: -1).description == "2026-02-28")
    }

    @Test func dicomCompactFormParses() {
        #expect(CivilDate(compact: "20260315")?.description == "2026-03-15")
        #expect(CivilDate(compact: "2026031") == nil)
    }
}

@Suite struct TimestampTests {
    @Test func parsesUTCAndOffsetsToTheSameInstant() {
        let utc = Timestamp(rfc3339: "2026-03-01T00:30:00Z")!
        let beijing = Timestamp(rfc3339: "2026-03-01T08:30:00+08:00")!
        #expect(utc == beijing)
        #expect(utc.description == "2026-03-01T00:30:00.000Z")
    }

    @Test func fractionalSecondsKeepMilliseconds() {
        #expect(Timestamp(rfc3339: "2026-03-01T00:00:00.5Z")!.millisecondsSinceEpoch % 1000 == 500)
        #expect(Timestamp(rfc3339: "2026-03-01T00:00:00.123456789Z")!.millisecondsSinceEpoch % 1000 == 123)
    }

    @Test(arguments: [
        "2026-03-01", "2026-03-01T25:00:00Z", "2026-03-01T00:00:00", "2026-03-01T00:00:00+8", "2026-03-01T00:00:00.Z",
        "2026-03-01T00:00:00Zjunk",
    ])
    func malformedTimesAreRefused(_ text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func civilDateUsesTheGivenOffset() {
        let t = Timestamp(rfc3339: "2026-03-01T17:00:00Z")!
        #expect(t.civilDate().description == "2026-03-01")
        #expect(t.civilDate(utcOffsetMinutes: 480).description == "2026-03-02")
        #expect(
            CivilDate("2026-03-02")!.startTimestamp(utcOffsetMinutes: 480) == Timestamp(rfc3339: "2026-03-01T16:00:00Z")
        )
    }

    @Test func timesBeforeTheEpochFormatCorrectly() {
        let t = Timestamp(rfc3339: "1969-12-31T23:59:59.250Z")!
        #expect(t.millisecondsSinceEpoch == -750)
        #expect(t.description == "1969-12-31T23:59:59.250Z")
    }

    @Test func everyInstantIsWrittenInFullAndReadsBack() {
        for ms in stride(from: Int64(-5_000_000_000_000), through: 250_000_000_000_000, by: 7_777_777_777) {
            let t = Timestamp(millisecondsSinceEpoch: ms)
            let text = t.description
            let date = t.civilDate()
            let ofDay = Int(ms - Int64(date.daysSinceEpoch) * 86_400_000)
            let parts = [ofDay / 3_600_000, ofDay / 60_000 % 60, ofDay / 1000 % 60]
            let time = parts.map { ($0 < 10 ? "0" : "") + String($0) }.joined(separator: ":")
            let millis = String(ofDay % 1000)
            #expect(
                text == date.description + "T" + time + "." + String(repeating: "0", count: 3 - millis.count) + millis
                    + "Z")
            #expect(Timestamp(rfc3339: text) == t)
            #expect(CivilDate(date.description) == date)
            #expect(date.description.utf8.count == 10)
        }
    }
}

@Suite struct GeneratedIDTests {
    @Test func idsSortByCreationTimeAndAreUnique() {
        var ids: [String] = []
        for ms in stride(from: Int64(1_700_000_000_000), to: 1_700_000_000_000 + 2000, by: 7) {
            ids.append(GeneratedID.make("ins", at: Timestamp(millisecondsSinceEpoch: ms)))
        }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.hasPrefix("ins_") && $0.count == 4 + 26 })
        #expect(ids.allSatisfy { ResourceID.isValid($0) })
    }
}
