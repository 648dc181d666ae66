/// How a dataset is encoded after the file meta information.
public struct TransferSyntax: Sendable, Equatable, Codable {
    /// The Transfer Syntax UID from (0002,0010).
    public let uid: String
    /// True when element headers carry an explicit VR field.
    public let isExplicitVR: Bool
    /// False only for (retired) Explicit VR Big Endian.
    public let isLittleEndian: Bool
    /// True when the dataset is a raw deflate stream.
    public let isDeflated: Bool
    /// True for compressed syntaxes whose pixel data is a sequence of fragments.
    public let isEncapsulated: Bool

    public static let implicitVRLittleEndian = "1.2.840.10008.1.2"
    public static let explicitVRLittleEndian = "1.2.840.10008.1.2.1"
    public static let explicitVRBigEndian = "1.2.840.10008.1.2.2"
    public static let deflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99"
    public static let jpegBaseline = "1.2.840.10008.1.2.4.50"
    public static let rleLossless = "1.2.840.10008.1.2.5"

    /// Classifies a transfer syntax UID; returns nil when it is not supported.
    public init?(uid rawUID: String) {
        let uid = TransferSyntax.clean(rawUID)
        self.uid = uid
        isExplicitVR = uid != TransferSyntax.implicitVRLittleEndian
        isLittleEndian = uid != TransferSyntax.explicitVRBigEndian
        switch uid {
        case TransferSyntax.implicitVRLittleEndian, TransferSyntax.explicitVRLittleEndian,
            TransferSyntax.explicitVRBigEndian:
            isDeflated = false
            isEncapsulated = false
        case TransferSyntax.deflatedExplicitVRLittleEndian:
            isDeflated = true
            isEncapsulated = false
        case "1.2.840.10008.1.2.4.95":
            // JPIP Referenced Deflate: a deflated dataset whose pixels live elsewhere.
            isDeflated = true
            isEncapsulated = false
        case "1.2.840.10008.1.2.4.94":
            // JPIP Referenced: pixels are a URL, the dataset itself is plain.
            isDeflated = false
            isEncapsulated = false
        case TransferSyntax.rleLossless:
            isDeflated = false
            isEncapsulated = true
        default:
            // Every other 1.2.840.10008.1.2.4.x syntax (JPEG family, JPEG-LS,
            // JPEG 2000, HTJ2K, MPEG, HEVC, JPEG XL) is encapsulated and explicit LE.
            guard uid.hasPrefix("1.2.840.10008.1.2.4."),
                uid.count > 20,
                uid.dropFirst(20).allSatisfy({ $0.isASCII && $0.isNumber })
            else { return nil }
            isDeflated = false
            isEncapsulated = true
        }
    }

    /// The byte-level encoding used for the dataset body.
    var encoding: Encoding { Encoding(explicitVR: isExplicitVR, littleEndian: isLittleEndian) }

    /// UIDs are padded with NUL (sometimes wrongly with space) to even length.
    static func clean(_ uid: String) -> String {
        var s = Substring(uid)
        while let last = s.last, last == "\0" || last == " " { s = s.dropLast() }
        while let first = s.first, first == " " { s = s.dropFirst() }
        return String(s)
    }
}

/// The two properties of an encoding that change how bytes are read.
public struct Encoding: Sendable, Equatable, Hashable {
    /// True when element headers carry an explicit VR field.
    public let explicitVR: Bool
    /// Byte order of tags, lengths and binary values.
    public let littleEndian: Bool

    public init(explicitVR: Bool, littleEndian: Bool) {
        self.explicitVR = explicitVR
        self.littleEndian = littleEndian
    }

    static let implicitLittle = Encoding(explicitVR: false, littleEndian: true)
    static let explicitLittle = Encoding(explicitVR: true, littleEndian: true)
}
