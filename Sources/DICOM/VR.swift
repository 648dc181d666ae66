/// A DICOM value representation (PS3.5 section 6.2).
public enum VR: String, Sendable, Codable, CaseIterable {
    case AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL, OV, OW
    case PN, SH, SL, SQ, SS, ST, SV, TM, UC, UI, UL, UN, UR, US, UT, UV

    /// Parses the two ASCII bytes of an explicit VR field.
    init?(byte0: UInt8, byte1: UInt8) {
        guard (0x41...0x5A).contains(byte0), (0x41...0x5A).contains(byte1) else { return nil }
        let text = String(decoding: [byte0, byte1], as: UTF8.self)
        self.init(rawValue: text)
    }

    /// The two ASCII bytes written in an explicit VR header.
    var bytes: [UInt8] { Array(rawValue.utf8) }

    /// In explicit VR these use 2 reserved bytes plus a 32-bit length
    /// (PS3.5 7.1.2); all others use a 16-bit length.
    var hasLongLength: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .SQ, .SV, .UC, .UN, .UR, .UT, .UV: return true
        default: return false
        }
    }

    /// Character string VRs whose bytes are text.
    public var isString: Bool {
        switch self {
        case .AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UI, .UR, .UT:
            return true
        default: return false
        }
    }

    /// String VRs affected by Specific Character Set (0008,0005); the rest are
    /// restricted to the default repertoire.
    var usesSpecificCharacterSet: Bool {
        switch self {
        case .LO, .LT, .PN, .SH, .ST, .UC, .UT: return true
        default: return false
        }
    }

    /// Text VRs that are a single value: backslash is ordinary text here.
    var isSingleValuedText: Bool {
        switch self {
        case .LT, .ST, .UT, .UR: return true
        default: return false
        }
    }

    /// Opaque byte VRs that DICOM JSON transports as bulk data.
    public var isBulkBinary: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .UN: return true
        default: return false
        }
    }

    /// Fixed width of one binary numeric value, or nil for non-numeric VRs.
    var numericWidth: Int? {
        switch self {
        case .US, .SS: return 2
        case .UL, .SL, .FL, .AT: return 4
        case .FD, .SV, .UV: return 8
        default: return nil
        }
    }

    /// Byte used to pad string values to even length.
    var paddingByte: UInt8 {
        switch self {
        case .UI: return 0x00
        default: return isString ? 0x20 : 0x00
        }
    }
}
