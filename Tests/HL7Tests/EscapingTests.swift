import Testing

@testable import HL7

@Suite struct EscapingTests {
    /// OBX-5 of a UTF-8 message whose OBX-5 is `raw`, as parsed.
    func value(_ raw: String, charset: String = "") throws -> String? {
        let text = #"MSH|^~\&||||||||||||||||"# + charset + "\rOBX|1|ST|X||" + raw + "\r"
        return try HL7Message.parse(Array(text.utf8)).segment(named: "OBX")?.value(5)
    }

    @Test func delimiterEscapes() throws {
        #expect(try value(#"a\F\b\S\c\T\d\R\e\E\f"#) == #"a|b^c&d~e\f"#)
        #expect(try value(#"\E\\E\"#) == #"\\"#)
        #expect(try value(#"\F\"#) == "|")
    }

    @Test func hexadecimalData() throws {
        #expect(try value(#"\X41\"#) == "A")
        #expect(try value(#"\XE5BCA0E4B889\"#) == "张三")
        #expect(try value(#"\xe5bca0\"#) == #"\xe5bca0\"#)  // lower-case x is not the hex escape
        #expect(try value(#"a\Xe5bca0\b"#) == "a张b")
        #expect(try value(#"a\XFF\b"#) == "ab")  // not UTF-8: dropped
        #expect(try value(#"a\XE5BC\b"#) == "ab")  // incomplete character: dropped
        #expect(try value(#"a\X4\b"#) == "ab")  // odd number of digits: dropped
        #expect(try value(#"a\XZZ\b"#) == "ab")  // not hex: dropped
        #expect(try value(#"a\X\b"#) == #"a\X\b"#)
        #expect(try value(#"a\X0D0A\b"#) == "a\r\nb")
        #expect(try value(#"\XD5C5\"#, charset: "GB 18030") == "张")
        #expect(try value(#"\XC3A9\"#, charset: "ASCII") == "é")
        #expect(try value(#"\XC3A9\"#, charset: "GB 18030") == "茅")
    }

    @Test func formatting() throws {
        #expect(try value(#"line 1\.br\line 2"#) == "line 1\nline 2")
        #expect(try value(#"a\.BR\b"#) == "a\nb")
        #expect(try value(#"a\.sp\b"#) == "a\nb")
        #expect(try value(#"a\.sp 3\b"#) == "a\n\n\nb")
        #expect(try value(#"a\.sp3\b"#) == "a\n\n\nb")
        #expect(try value(#"a\.sk 2\b"#) == "a  b")
        #expect(try value(#"a\.sp 99999999\b"#) == "a" + String(repeating: "\n", count: 100) + "b")
        #expect(try value(#"a\.sp 999999999999999999999999\b"#) == #"a\.sp 999999999999999999999999\b"#)
        #expect(try value(#"a\.sp -1\b"#) == #"a\.sp -1\b"#)
        #expect(try value(#"\.fi\\.nf\\.ce\\.in 4\\.ti -2\text"#) == "text")
        #expect(try value(#"a\.br 2\b"#) == #"a\.br 2\b"#)
        #expect(try value(#"a\.xx\b"#) == #"a\.xx\b"#)
        #expect(try value(#"\H\HIGH\N\ normal"#) == "HIGH normal")
    }

    @Test func unknownAndMalformedEscapesAreKept() throws {
        #expect(try value(#"a\Q\b"#) == #"a\Q\b"#)
        #expect(try value(#"\Zlocal\"#) == #"\Zlocal\"#)
        #expect(try value(#"\C2842\x"#) == #"\C2842\x"#)
        #expect(try value(#"C:\temp\file"#) == #"C:\temp\file"#)
        #expect(try value(#"end\"#) == #"end\"#)
        #expect(try value(#"\"#) == #"\"#)
        #expect(try value(#"\\"#) == #"\\"#)
        #expect(try value(#"\\\"#) == #"\\\"#)
        #expect(try value(#"\F"#) == #"\F"#)
        #expect(try value(#"a\P\b"#) == #"a\P\b"#)  // no truncation character declared
        #expect(try value(#"\F\\"#) == #"|\"#)
    }

    @Test func escapesDoNotSpanDelimiters() throws {
        let text = #"MSH|^~\&"# + "\r" + #"OBX|1|ST|X||a\F^\b&c\S\|\T"# + "\r"
        let obx = try #require(try HL7Message.parse(Array(text.utf8)).segment(named: "OBX"))
        #expect(obx.value(5, component: 1) == #"a\F"#)
        #expect(obx.value(5, component: 2) == #"\b"#)
        #expect(obx.value(5, component: 2, subcomponent: 2) == "c^")
        #expect(obx.value(6) == #"\T"#)
    }

    @Test func writerEscapes() throws {
        let escaping = HL7Escaping(delimiters: .standard, charset: .utf8)
        func escaped(_ text: String) -> String {
            var out: [UInt8] = []
            escaping.escape(text, into: &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(escaped(#"a|b^c&d~e\f"#) == #"a\F\b\S\c\T\d\R\e\E\f"#)
        #expect(escaped("1\n2\r\n3\r4") == #"1\.br\2\.br\3\.br\4"#)
        #expect(escaped("tab\there\u{0B}\u{1C}") == #"tab"# + "\t" + #"here\X0B\\X1C\"#)
        #expect(escaped("张三 #") == "张三 #")
        let truncating = try #require(
            HL7EncodingCharacters(
                field: "|", component: "^", repetition: "~", escape: "\\", subcomponent: "&", truncation: "#"))
        var out: [UInt8] = []
        HL7Escaping(delimiters: truncating, charset: .utf8).escape("a#b", into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"a\P\b"#)
    }
}
