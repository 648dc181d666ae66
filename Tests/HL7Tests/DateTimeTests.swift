import Testing

@testable import HL7

@Suite struct DateTimeTests {
    @Test func parsesEveryPrecision() throws {
        let year = try #require(HL7DateTime.parse("2026"))
        #expect(year.year == 2026 && year.month == nil && year.precision == .year)
        #expect(HL7DateTime.parse("202612")?.precision == .month)
        let day = try #require(HL7DateTime.parse("19800101"))
        #expect(day.year == 1980 && day.month == 1 && day.day == 1 && day.hour == nil && day.precision == .day)
        #expect(HL7DateTime.parse("2026120710")?.precision == .hour)
        #expect(HL7DateTime.parse("202612071030")?.minute == 30)
        let full = try #require(HL7DateTime.parse("20261207103045.1234+0800"))
        #expect(full.year == 2026 && full.month == 12 && full.day == 7)
        #expect(full.hour == 10 && full.minute == 30 && full.second == 45)
        #expect(full.milliseconds == 123)
        #expect(full.utcOffsetMinutes == 480)
        #expect(full.precision == .fractionalSecond)
        #expect(full.format() == "20261207103045.1234+0800")
        #expect(HL7DateTime.parse("20261207103045.5")?.milliseconds == 500)
        #expect(HL7DateTime.parse("20261207103045.05")?.milliseconds == 50)
        #expect(HL7DateTime.parse("20261207103045.007")?.milliseconds == 7)
        #expect(HL7DateTime.parse("20261207103045")?.milliseconds == nil)
        #expect(HL7DateTime.parse("20261207103045-0530")?.utcOffsetMinutes == -330)
        #expect(HL7DateTime.parse("2026-0000")?.utcOffsetMinutes == 0)
        #expect(HL7DateTime.parse("20261207+1400")?.utcOffsetMinutes == 840)
        #expect(HL7DateTime.parse("20261207-1400")?.utcOffsetMinutes == -840)
    }

    @Test func refusesInvalidValues() {
        for text in [
            "", "202", "20261", "2026120", "20261207103", "2026120710304", "202612071030456", "0000", "202613",
            "202600", "20260230", "20250229", "20260431", "20260100", "2026120724", "202612072360", "20261207235960",
            "20261207103045.", "20261207103045.12345", "202612071030.5", "20261207+1401", "20261207-1500",
            "20261207+0860", "20261207+080", "20261207+08000", "2026120a", "２０２６", "20261207 ", " 20261207",
            "20261207+08:00", "+0800", "20261207103045.1a", "2026-12-07", "20261207103045.-1",
        ] {
            #expect(HL7DateTime.parse(text) == nil, "\(text)")
        }
    }

    @Test func leapYears() {
        #expect(HL7DateTime.parse("20240229") != nil)
        #expect(HL7DateTime.parse("20000229") != nil)
        #expect(HL7DateTime.parse("19000229") == nil)
        #expect(HL7DateTime.parse("20261231") != nil)
    }

    @Test func formatsFromParts() throws {
        let time = try #require(
            HL7DateTime(year: 2026, month: 12, day: 7, hour: 10, minute: 30, second: 0, utcOffsetMinutes: 480))
        #expect(time.format() == "20261207103000+0800")
        #expect(time.description == "20261207103000+0800")
        #expect(time.precision == .second)
        #expect(HL7DateTime(year: 2026, month: 3)?.format() == "202603")
        #expect(HL7DateTime(year: 26)?.format() == "0026")
        #expect(HL7DateTime(year: 2026, month: 1, day: 2, hour: 3)?.format() == "2026010203")
        #expect(
            HL7DateTime(year: 2026, month: 1, day: 2, hour: 3, minute: 4, second: 5, milliseconds: 6)?.format()
                == "20260102030405.006")
        #expect(HL7DateTime(year: 2026, utcOffsetMinutes: -90)?.format() == "2026-0130")
        #expect(HL7DateTime(year: 2026, month: 1, day: 1, utcOffsetMinutes: 0)?.format() == "20260101+0000")
    }

    @Test func refusesInvalidParts() {
        #expect(HL7DateTime(year: 2026, day: 1) == nil)
        #expect(HL7DateTime(year: 2026, month: 1, day: 1, minute: 5) == nil)
        #expect(HL7DateTime(year: 2026, month: 1, day: 1, hour: 1, minute: 1, milliseconds: 5) == nil)
        #expect(HL7DateTime(year: 2026, month: 1, day: 1, hour: 1, minute: 1, second: 1, milliseconds: 1000) == nil)
        #expect(HL7DateTime(year: 0) == nil)
        #expect(HL7DateTime(year: 10000) == nil)
        #expect(HL7DateTime(year: 2026, month: 2, day: 29) == nil)
        #expect(HL7DateTime(year: 2026, utcOffsetMinutes: 841) == nil)
    }

    @Test func roundTrips() throws {
        for text in [
            "2026", "202612", "20261207", "2026120710", "202612071030", "20261207103000", "20261207103000.1",
            "20261207103000.12", "20261207103000.123", "20261207103000.1234", "20261207103000.0001-1200",
            "99991231235959",
        ] {
            #expect(HL7DateTime.parse(text)?.format() == text)
        }
        #expect(HL7DateTime.parse("20261207103000.5") != HL7DateTime.parse("20261207103000.50"))
        #expect(
            HL7DateTime.parse("20261207103000.5")?.milliseconds == HL7DateTime.parse("20261207103000.50")?.milliseconds)
    }
}
