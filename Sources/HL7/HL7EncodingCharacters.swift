/// The delimiters of an HL7 v2 message: the field separator (MSH-1) and the encoding characters (MSH-2), that is the
/// component, repetition, escape and subcomponent separators and, from v2.7, an optional truncation character.
///
/// Every delimiter is a printable ASCII character that is neither a letter nor a digit, and all are distinct.
public struct HL7EncodingCharacters: Sendable, Hashable, CustomStringConvertible {
    let fieldByte: UInt8
    let componentByte: UInt8
    let repetitionByte: UInt8
    let escapeByte: UInt8
    let subcomponentByte: UInt8
    let truncationByte: UInt8?

    /// The usual delimiters `|^~\&`.
    public static let standard = HL7EncodingCharacters(
        validatingField: 0x7C, component: 0x5E, repetition: 0x7E, escape: 0x5C, subcomponent: 0x26, truncation: nil)!

    /// Delimiters from characters; nil when one is not a printable ASCII non-alphanumeric character or two are equal.
    public init?(
        field: Character, component: Character, repetition: Character, escape: Character, subcomponent: Character,
        truncation: Character? = nil
    ) {
        guard let f = field.asciiValue, let c = component.asciiValue, let r = repetition.asciiValue,
            let e = escape.asciiValue, let s = subcomponent.asciiValue
        else { return nil }
        var t: UInt8?
        if let truncation {
            guard let value = truncation.asciiValue else { return nil }
            t = value
        }
        self.init(validatingField: f, component: c, repetition: r, escape: e, subcomponent: s, truncation: t)
    }

    init?(
        validatingField field: UInt8, component: UInt8, repetition: UInt8, escape: UInt8, subcomponent: UInt8,
        truncation: UInt8?
    ) {
        var all = [field, component, repetition, escape, subcomponent]
        if let truncation { all.append(truncation) }
        guard all.allSatisfy(Self.isUsable), Set(all).count == all.count else { return nil }
        fieldByte = field
        componentByte = component
        repetitionByte = repetition
        escapeByte = escape
        subcomponentByte = subcomponent
        truncationByte = truncation
    }

    /// Whether `byte` may serve as a delimiter: printable ASCII, not a space, letter or digit.
    static func isUsable(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: return true
        default: return false
        }
    }

    /// The field separator, MSH-1 (usually `|`).
    public var field: Character { Character(Unicode.Scalar(fieldByte)) }
    /// The component separator (usually `^`).
    public var component: Character { Character(Unicode.Scalar(componentByte)) }
    /// The repetition separator (usually `~`).
    public var repetition: Character { Character(Unicode.Scalar(repetitionByte)) }
    /// The escape character (usually `\`).
    public var escape: Character { Character(Unicode.Scalar(escapeByte)) }
    /// The subcomponent separator (usually `&`).
    public var subcomponent: Character { Character(Unicode.Scalar(subcomponentByte)) }
    /// The truncation character of v2.7 and later (usually `#`), or nil when MSH-2 has only four characters.
    public var truncation: Character? { truncationByte.map { Character(Unicode.Scalar($0)) } }

    /// MSH-2 as written: the component, repetition, escape and subcomponent characters, then the truncation
    /// character if any.
    public var encodingCharactersText: String {
        String(decoding: encodingBytes, as: UTF8.self)
    }

    var encodingBytes: [UInt8] {
        var bytes = [componentByte, repetitionByte, escapeByte, subcomponentByte]
        if let truncationByte { bytes.append(truncationByte) }
        return bytes
    }

    /// MSH-1 followed by MSH-2, e.g. `|^~\&`.
    public var description: String { String(field) + encodingCharactersText }

    /// Reads the delimiters from the start of a message, which must begin with `MSH`.
    static func read(fromHeader bytes: ArraySlice<UInt8>) throws(HL7ParseError) -> HL7EncodingCharacters {
        let start = bytes.startIndex
        guard bytes.count >= 4, bytes[start] == 0x4D, bytes[start + 1] == 0x53, bytes[start + 2] == 0x48 else {
            throw .noMSH
        }
        let field = bytes[start + 3]
        var end = start + 4
        while end < bytes.endIndex, end - (start + 4) <= 5 {
            let byte = bytes[end]
            if byte == field || byte == 0x0D || byte == 0x0A { break }
            end += 1
        }
        let encoding = Array(bytes[(start + 4)..<end])
        guard encoding.count == 4 || encoding.count == 5,
            let delimiters = HL7EncodingCharacters(
                validatingField: field, component: encoding[0], repetition: encoding[1], escape: encoding[2],
                subcomponent: encoding[3], truncation: encoding.count == 5 ? encoding[4] : nil)
        else { throw .badEncodingCharacters }
        return delimiters
    }
}
