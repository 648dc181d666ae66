/// Sample messages shaped like real laboratory information system exports.
enum Fixtures {
    /// The segments of `lines` joined by `separator`, as UTF-8 bytes.
    static func bytes(_ lines: [String], separator: String = "\r") -> [UInt8] {
        Array(lines.joined(separator: separator).utf8) + Array(separator.utf8)
    }

    /// An ORU^R01 v2.5.1 lipid panel in UTF-8.
    static let oruLines: [String] = [
        #"MSH|^~\&|LIS|HOSP1^1.2.156.112604.1.2.1^ISO|HUB|ALLIANCE|20261207103000+0800||ORU^R01^ORU_R01|MSG00001|"#
            + #"P|2.5.1|||AL|NE|CHN|UNICODE UTF-8"#,
        #"PID|1||420102198001011234^^^CN-RESIDENT&2.16.156.10011.1.1&ISO^NNCHN~YB2026000123^^^CN-INSURANCE^SS"#
            + #"~MRN000456^^^HOSP1^MR||张三^^^^^^L||19800101|M|||武汉市江汉区^^武汉^湖北^430000^CHN"#,
        #"PV1|1|O|LAB^^^HOSP1||||1234^李^四"#,
        #"ORC|RE|ORD1001|LAB2001||CM"#,
        #"OBR|1|ORD1001|LAB2001|24331-1^Lipid panel^LN|||20261207080000+0800|||||||||1234^李^四||||||20261207103000+0800||CH|F"#,
        #"OBX|1|NM|2093-3^Cholesterol [Mass/volume] in Serum or Plasma^LN||6.2|mmol/L^^UCUM|3.1-5.7|H|||F|||"#
            + #"20261207093000+0800"#,
        #"OBX|2|NM|2571-8^Triglyceride [Mass/volume] in Serum^LN||1.2|mmol/L^^UCUM|0.4-1.7|N|||F"#,
        #"OBX|3|ST|8251-1^Service comment^LN||Sample lipemic \T\ hemolysed \F\ retest advised||||||F"#,
        #"OBX|4|NM|2085-9^HDL Cholesterol^LN|||mmol/L^^UCUM|1.0-1.6|""|||F"#,
    ]

    static let oru = bytes(oruLines)

    /// An ORU^R01 v2.3.1 (no message structure in MSH-9, no MSH-18) with a formatted-text result.
    static let oru231Lines: [String] = [
        #"MSH|^~\&|LABSYS|HOSP2|HUB|ALLIANCE|20261207110500||ORU^R01|L231-0042|P|2.3.1"#,
        #"PID|||MRN7788^^^HOSP2^MR||WANG^FANG||19751231|F"#,
        #"OBR|1||S2026-88|GLU^Glucose^L|||202612071000"#,
        #"OBX|1|NM|GLU^Glucose^L||5.4|mmol/L|3.9-6.1|N|||F"#,
        #"OBX|2|FT|NOTE^Note^L||Fasting sample.\.br\Repeat in 3 months.||||||F"#,
    ]

    static let oru231 = bytes(oru231Lines)

    /// A GB 18030 message, written byte by byte (the Chinese text encoded by hand, independently of the module):
    /// PID-5 张三, OBX-3.2 检验, and an OBX-5 whose characters 億 (83 7C), 乗 (81 5C), 區 (85 5E) and 亊 (81 7E)
    /// have trail bytes equal to `|`, `\`, `^` and `~`, and 𠀀 (95 32 82 36), a four-byte character.
    static let gb18030: [UInt8] = {
        var bytes: [UInt8] = []
        func ascii(_ text: String) { bytes += Array(text.utf8) }
        ascii(#"MSH|^~\&|LIS|HOSP3|HUB|ALLIANCE|20261207120000+0800||ORU^R01^ORU_R01|GB0001|P|2.5.1|||||CHN|GB 18030"#)
        ascii("\rPID|1||MRN0099^^^HOSP3^MR||")
        bytes += [0xD5, 0xC5, 0xC8, 0xFD]  // 张三
        ascii("||19800101|M\rOBX|1|ST|CMT^")
        bytes += [0xBC, 0xEC, 0xD1, 0xE9]  // 检验
        ascii("^L||")
        bytes += [0x83, 0x7C, 0x81, 0x5C, 0x85, 0x5E, 0x81, 0x7E]  // 億乗區亊
        ascii(#" \T\ "#)
        bytes += [0x95, 0x32, 0x82, 0x36]  // 𠀀
        ascii("||||||F\r")
        return bytes
    }()
}
