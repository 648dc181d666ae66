/// Decodes text that uses ISO 2022 code extensions (PS3.5 6.1.2.5), as
/// declared by a multi-valued Specific Character Set such as
/// `\ISO 2022 IR 58` (GB2312), `\ISO 2022 IR 87` (Japanese) or
/// `\ISO 2022 IR 149` (Korean).
///
/// Bytes are split into runs by escape sequences and by the high bit
/// (G0 for 0x00-0x7F, G1 for 0x80-0xFF); each run is decoded with the code
/// element designated at that point.
struct ISO2022Decoder {
    /// A character set that can be designated into G0 or G1.
    enum CodeElement: Equatable {
        case ascii
        case jisRoman  // JIS X 0201 Romaji, G0
        case jisKatakana  // JIS X 0201 Katakana, G1
        case singleByte(String)  // ISO 8859 / TIS-620 upper half, G1 (iconv name)
        case jisX0208  // 2-byte 7-bit, G0
        case jisX0212  // 2-byte 7-bit, G0
        case ksX1001  // 2-byte, G1 (EUC-KR bytes)
        case gb2312  // 2-byte, G1 (EUC-CN bytes)

        var isMultiByteG0: Bool { self == .jisX0208 || self == .jisX0212 }
        var isMultiByteG1: Bool { self == .ksX1001 || self == .gb2312 }
    }

    let initialG0: CodeElement
    let initialG1: CodeElement?
    let fallback: String

    init(terms: [String], fallback: String) {
        let (g0, g1) = ISO2022Decoder.designations(forTerm: terms.first ?? "")
        initialG0 = g0 ?? .ascii
        initialG1 = g1
        self.fallback = fallback
    }

    /// What a defined term designates when it is the initial (first) value.
    static func designations(forTerm term: String) -> (CodeElement?, CodeElement?) {
        var key = SpecificCharacterSet.normalize(term)
        if key.hasPrefix("ISO 2022 ") { key = "ISO " + key.dropFirst(9) }
        switch key {
        case "", "ISO IR 6": return (.ascii, nil)
        case "ISO IR 13": return (.jisRoman, .jisKatakana)
        case "ISO IR 87": return (.jisX0208, nil)
        case "ISO IR 159": return (.jisX0212, nil)
        case "ISO IR 149": return (.ascii, .ksX1001)
        case "ISO IR 58": return (.ascii, .gb2312)
        default:
            if let name = SpecificCharacterSet.iconvName(forTerm: term), name.hasPrefix("ISO-8859") || name == "TIS-620"
            {
                return (.ascii, .singleByte(name))
            }
            return (.ascii, nil)
        }
    }

    /// Escape sequences (without the leading ESC) and what they designate.
    static let escapes: [([UInt8], isG1: Bool, CodeElement)] = [
        ([0x28, 0x42], false, .ascii),  // ESC ( B
        ([0x28, 0x4A], false, .jisRoman),  // ESC ( J
        ([0x29, 0x49], true, .jisKatakana),  // ESC ) I
        ([0x24, 0x42], false, .jisX0208),  // ESC $ B
        ([0x24, 0x28, 0x44], false, .jisX0212),  // ESC $ ( D
        ([0x24, 0x29, 0x43], true, .ksX1001),  // ESC $ ) C
        ([0x24, 0x29, 0x41], true, .gb2312),  // ESC $ ) A
        ([0x2D, 0x41], true, .singleByte("ISO-8859-1")),
        ([0x2D, 0x42], true, .singleByte("ISO-8859-2")),
        ([0x2D, 0x43], true, .singleByte("ISO-8859-3")),
        ([0x2D, 0x44], true, .singleByte("ISO-8859-4")),
        ([0x2D, 0x4C], true, .singleByte("ISO-8859-5")),
        ([0x2D, 0x47], true, .singleByte("ISO-8859-6")),
        ([0x2D, 0x46], true, .singleByte("ISO-8859-7")),
        ([0x2D, 0x48], true, .singleByte("ISO-8859-8")),
        ([0x2D, 0x4D], true, .singleByte("ISO-8859-9")),
        ([0x2D, 0x62], true, .singleByte("ISO-8859-15")),
        ([0x2D, 0x54], true, .singleByte("TIS-620")),
    ]

    func decode(_ raw: [UInt8], vr: VR) -> String {
        var output = ""
        var g0 = initialG0
        var g1 = initialG1
        var run: [UInt8] = []
        var runElement: CodeElement? = nil  // nil = no G1 designated: use fallback
        var runIsG1 = false

        func flush() {
            if !run.isEmpty { output += decodeRun(run, element: runElement, isG1: runIsG1) }
            run.removeAll(keepingCapacity: true)
        }
        func append(_ bytes: ArraySlice<UInt8>, element: CodeElement?, isG1: Bool) {
            if element != runElement || isG1 != runIsG1 { flush(); runElement = element; runIsG1 = isG1 }
            run.append(contentsOf: bytes)
        }

        var i = 0
        while i < raw.count {
            let b = raw[i]
            if b == 0x1B {
                if let (len, isG1, element) = matchEscape(raw, at: i + 1) {
                    if isG1 { g1 = element } else { g0 = element }
                    i += 1 + len
                } else {
                    i += 1  // unknown escape: drop the ESC, keep going
                }
                continue
            }
            if b < 0x80 {
                if g0.isMultiByteG0 && b >= 0x21 && b <= 0x7E && i + 1 < raw.count {
                    append(raw[i...(i + 1)], element: g0, isG1: false)
                    i += 2
                    continue
                }
                append(raw[i...i], element: g0.isMultiByteG0 ? .ascii : g0, isG1: false)
                // PS3.5 6.1.2.5.3: designations return to the initial state at delimiters.
                if isDelimiter(b, vr: vr) { g0 = initialG0; g1 = initialG1 }
                i += 1
                continue
            }
            if let element = g1, element.isMultiByteG1, i + 1 < raw.count {
                append(raw[i...(i + 1)], element: element, isG1: true)
                i += 2
            } else {
                append(raw[i...i], element: g1, isG1: true)
                i += 1
            }
        }
        flush()
        return output
    }

    private func matchEscape(_ raw: [UInt8], at start: Int) -> (Int, Bool, CodeElement)? {
        for (sequence, isG1, element) in ISO2022Decoder.escapes {
            let end = start + sequence.count
            if end <= raw.count && raw[start..<end].elementsEqual(sequence) { return (sequence.count, isG1, element) }
        }
        return nil
    }

    private func isDelimiter(_ b: UInt8, vr: VR) -> Bool {
        switch b {
        case 0x0A, 0x0C, 0x0D, 0x09, 0x5C: return true
        case 0x5E, 0x3D: return vr == .PN
        default: return false
        }
    }

    private func decodeRun(_ run: [UInt8], element: CodeElement?, isG1: Bool) -> String {
        guard let element else {
            return SpecificCharacterSet.decodeUndeclared(run, fallback: fallback)
        }
        switch element {
        case .ascii:
            return String(decoding: run, as: UTF8.self)
        case .jisRoman:
            // Differs from ASCII only at 0x5C (yen sign) and 0x7E (overline).
            var s = ""
            for b in run {
                switch b {
                case 0x5C: s.unicodeScalars.append("\u{A5}")
                case 0x7E: s.unicodeScalars.append("\u{203E}")
                default: s.unicodeScalars.append(Unicode.Scalar(b))
                }
            }
            return s
        case .jisKatakana:
            var s = ""
            for b in run {
                if b >= 0xA1 && b <= 0xDF, let scalar = Unicode.Scalar(0xFF61 + UInt32(b - 0xA1)) {
                    s.unicodeScalars.append(scalar)
                } else {
                    s.unicodeScalars.append("\u{FFFD}")
                }
            }
            return s
        case .singleByte(let name):
            if name == "ISO-8859-1" { return SpecificCharacterSet.latin1(run) }
            return Iconv.decode(run, from: name) ?? SpecificCharacterSet.latin1(run)
        case .jisX0208:
            // The 7-bit JIS pairs become EUC-JP by setting the high bit.
            return Iconv.decode(run.map { $0 | 0x80 }, from: "EUC-JP") ?? "\u{FFFD}"
        case .jisX0212:
            var euc: [UInt8] = []
            var k = 0
            while k + 1 < run.count { euc += [0x8F, run[k] | 0x80, run[k + 1] | 0x80]; k += 2 }
            return Iconv.decode(euc, from: "EUC-JP") ?? "\u{FFFD}"
        case .ksX1001:
            return Iconv.decode(run, from: "EUC-KR") ?? "\u{FFFD}"
        case .gb2312:
            return Iconv.decode(run, from: "GB2312") ?? "\u{FFFD}"
        }
    }
}
