import HubCore
import Testing

@Suite struct TextTests {
    @Test(arguments: [
        ("  Bearer  ", "Bearer"), ("\t\r\napplication/json \r\n", "application/json"), ("", ""), (" \t ", ""),
        ("a b", "a b"), ("  患者 ", "患者"), ("\u{00A0}x\u{00A0}", "\u{00A0}x\u{00A0}"),
    ])
    func asciiWhitespaceIsTrimmedAtBothEndsOnly(_ text: String, _ expected: String) {
        #expect(text.trimmingASCIIWhitespace() == expected)
        // The same on a slice of a longer string: indices stay those of the base.
        let embedded = "«" + text + "»"
        let slice = embedded.dropFirst().dropLast()
        #expect(slice.trimmingASCIIWhitespace() == expected)
    }
}

@Suite struct HexTests {
    @Test func bytesBecomeLowerCaseHexInOrder() {
        #expect(Hex.encode([]) == "")
        #expect(Hex.encode([0x00, 0x0F, 0xA5, 0xFF]) == "000fa5ff")
        let all = (0...255).map(UInt8.init)
        let text = Hex.encode(all)
        #expect(text.utf8.count == 512)
        #expect(text.hasPrefix("000102") && text.hasSuffix("fdfeff"))
        // A sequence without contiguous storage gives the same text as the bytes in place.
        #expect(Hex.encode(all.lazy.map { $0 }) == text)
        #expect(all.withUnsafeBytes(Hex.encode) == text)
    }
}
