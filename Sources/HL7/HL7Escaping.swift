/// The escape sequences of HL7 v2 (chapter 2.7 of the standard) for one message's delimiters and character set.
struct HL7Escaping {
    let delimiters: HL7EncodingCharacters
    /// The character set `\X..\` hexadecimal data is read in (an ASCII message's hex data is read as UTF-8).
    let hexCharset: HL7CharacterSet

    /// The most line breaks or spaces one formatting command (`\.sp n\`, `\.sk n\`) may produce, so that a few bytes
    /// of input cannot expand without bound.
    static let maximumFormattingRepeat = 100

    init(delimiters: HL7EncodingCharacters, charset: HL7CharacterSet) {
        self.delimiters = delimiters
        hexCharset = charset == .ascii ? .utf8 : charset
    }

    // MARK: Reading

    /// The text of one subcomponent as transmitted (valid UTF-8, delimiters already split off), unescaped.
    ///
    /// `\F\ \S\ \T\ \R\ \E\` (and `\P\` when there is a truncation character) become the delimiter; `\X..\`
    /// becomes the text its bytes encode in the message's character set, or nothing when they encode none;
    /// `\H\` and `\N\` (highlighting) are dropped; `\.br\` becomes a line feed, `\.sp n\` n line feeds, `\.sk n\`
    /// n spaces, and the other formatting commands (`\.fi\ \.nf\ \.in n\ \.ti n\ \.ce\`) are dropped. Any other
    /// sequence, and an escape character without a closing one, is kept as it stands.
    func unescape(_ raw: ArraySlice<UInt8>) -> String {
        let escape = delimiters.escapeByte
        guard raw.contains(escape) else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var index = raw.startIndex
        while index < raw.endIndex {
            let byte = raw[index]
            guard byte == escape else {
                out.append(byte)
                index += 1
                continue
            }
            guard let close = raw[(index + 1)...].firstIndex(of: escape) else {
                out.append(contentsOf: raw[index...])
                break
            }
            if let replacement = interpret(raw[(index + 1)..<close]) {
                out.append(contentsOf: replacement)
            } else {
                out.append(contentsOf: raw[index...close])
            }
            index = close + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The UTF-8 bytes an escape sequence's body stands for, or nil for a sequence that is kept literally.
    private func interpret(_ body: ArraySlice<UInt8>) -> [UInt8]? {
        guard let first = body.first else { return nil }
        if body.count == 1 {
            switch first {
            case 0x46: return [delimiters.fieldByte]  // F
            case 0x53: return [delimiters.componentByte]  // S
            case 0x54: return [delimiters.subcomponentByte]  // T
            case 0x52: return [delimiters.repetitionByte]  // R
            case 0x45: return [delimiters.escapeByte]  // E
            case 0x50: return delimiters.truncationByte.map { [$0] }  // P
            case 0x48, 0x4E: return []  // H, N: highlighting on and off
            default: return nil
            }
        }
        switch first {
        case 0x58:  // X: hexadecimal data
            return hexText(body.dropFirst()) ?? []
        case 0x2E:  // .: formatting command
            return formatting(body.dropFirst())
        default:
            return nil
        }
    }

    /// The UTF-8 text that hexadecimal `digits` encode, or nil when they are malformed or not valid text.
    private func hexText(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
        guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            guard let high = Self.hexValue(digits[index]), let low = Self.hexValue(digits[index + 1]) else {
                return nil
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return hexCharset.decode(bytes)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    /// What a formatting command (the body after the dot, e.g. `br` or `sp 2`) becomes in plain text.
    private func formatting(_ command: ArraySlice<UInt8>) -> [UInt8]? {
        let text = String(decoding: command, as: UTF8.self).lowercased()
        let name = String(text.prefix(2))
        let argument = text.dropFirst(2).drop { $0 == " " }
        var number: Int?
        if !argument.isEmpty {
            guard argument.allSatisfy(\.isASCII), let value = Int(argument) else { return nil }
            number = value
        }
        switch name {
        case "br", "fi", "nf", "ce":
            guard number == nil else { return nil }
            return name == "br" ? [0x0A] : []
        case "sp", "sk":
            let count = number ?? 1
            guard count >= 0 else { return nil }
            return Array(repeating: name == "sp" ? 0x0A : 0x20, count: min(count, Self.maximumFormattingRepeat))
        case "in", "ti":
            return []
        default:
            return nil
        }
    }

    // MARK: Writing

    /// `text` with every delimiter and the escape character escaped, line breaks (`\r\n`, `\n` or `\r`) written as
    /// `\.br\`, and the other control characters but tab written as `\Xhh\`, appended to `out` as UTF-8.
    func escape(_ text: String, into out: inout [UInt8]) {
        let d = delimiters
        let escape = d.escapeByte
        var previousWasCR = false
        for byte in text.utf8 {
            defer { previousWasCR = byte == 0x0D }
            let letter: UInt8?
            switch byte {
            case d.fieldByte: letter = 0x46
            case d.componentByte: letter = 0x53
            case d.subcomponentByte: letter = 0x54
            case d.repetitionByte: letter = 0x52
            case escape: letter = 0x45
            case d.truncationByte: letter = 0x50
            default: letter = nil
            }
            if let letter {
                out.append(contentsOf: [escape, letter, escape])
            } else if byte == 0x0A && previousWasCR {
                continue
            } else if byte == 0x0A || byte == 0x0D {
                out.append(contentsOf: [escape, 0x2E, 0x62, 0x72, escape])
            } else if byte < 0x20 && byte != 0x09 {
                out.append(contentsOf: [escape, 0x58, Self.hexDigit(byte >> 4), Self.hexDigit(byte & 0x0F), escape])
            } else {
                out.append(byte)
            }
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? 0x30 + value : 0x41 + value - 10
    }
}
