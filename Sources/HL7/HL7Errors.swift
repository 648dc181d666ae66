/// Why a byte sequence could not be read as an HL7 v2 message.
public enum HL7ParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The bytes do not begin with an MSH segment (after an optional UTF-8 byte order mark and blank lines).
    case noMSH
    /// MSH-1 and MSH-2 do not hold a usable field separator and four (or five) distinct encoding characters.
    case badEncodingCharacters
    /// MSH-18 names a character set this module does not read; the value is given as found.
    case unknownCharacterSet(String)
    /// The message is not valid text in its declared character set; nothing is guessed or replaced.
    case invalidText(HL7CharacterSet)
    /// The message contains the ESC control character, that is ISO 2022 code extension, which this module does not
    /// interpret; reading on would misrepresent the text.
    case unsupportedCodeExtension
    /// MSH-18 reads differently before and after the message is decoded, which happens when MSH-3 to MSH-17 hold
    /// multi-byte text whose bytes look like delimiters. MSH-3 to MSH-17 must be ASCII.
    case inconsistentHeader
    /// A segment does not start with a valid segment ID (three characters, an upper-case letter then upper-case
    /// letters or digits). The ID as found (shortened) and the 1-based number of the segment are given.
    case invalidSegmentID(String, segment: Int)
    /// A second MSH segment was found at the given 1-based segment number: several messages ran together.
    case repeatedMSH(segment: Int)

    /// A sentence saying what is wrong, for logs and for the text of a rejecting acknowledgement.
    public var description: String {
        switch self {
        case .noMSH:
            return "the message does not start with an MSH segment"
        case .badEncodingCharacters:
            return "MSH-1 and MSH-2 do not hold a valid field separator and encoding characters"
        case .unknownCharacterSet(let name):
            return "MSH-18 names an unsupported character set: \"\(name)\""
        case .invalidText(let charset):
            return "the message is not valid \(charset.declaration) text"
        case .unsupportedCodeExtension:
            return "the message uses ISO 2022 code extension (ESC sequences), which is not supported"
        case .inconsistentHeader:
            return "MSH-18 cannot be read reliably: MSH-3 to MSH-17 must be ASCII"
        case .invalidSegmentID(let id, let segment):
            return "segment \(segment) has an invalid segment ID \"\(id)\""
        case .repeatedMSH(let segment):
            return "segment \(segment) is a second MSH: several messages ran together"
        }
    }
}

/// Why a message could not be written as bytes.
public enum HL7EncodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The first segment is not MSH, or there are no segments.
    case missingHeader
    /// A segment other than the first is an MSH; the 1-based segment number is given.
    case repeatedHeader(segment: Int)
    /// A segment ID is not three characters, an upper-case letter then upper-case letters or digits.
    case invalidSegmentID(String)
    /// MSH-18 names a character set this module does not write.
    case unknownCharacterSet(String)
    /// The text holds characters the declared character set cannot represent (non-ASCII text in an ASCII message).
    case unrepresentableText(HL7CharacterSet)

    /// A sentence saying what is wrong, for logs.
    public var description: String {
        switch self {
        case .missingHeader:
            return "the message does not start with an MSH segment"
        case .repeatedHeader(let segment):
            return "segment \(segment) is a second MSH"
        case .invalidSegmentID(let id):
            return "invalid segment ID \"\(id)\""
        case .unknownCharacterSet(let name):
            return "MSH-18 names an unsupported character set: \"\(name)\""
        case .unrepresentableText(let charset):
            return "the message holds characters that \(charset.declaration) cannot represent"
        }
    }
}
