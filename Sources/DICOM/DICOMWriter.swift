/// Writes minimal, well-formed Part 10 files: preamble, "DICM", a meta group
/// with a correct group length, and the dataset in Explicit or Implicit VR
/// Little Endian (or Explicit VR LE with encapsulated pixel data under a
/// compressed transfer syntax UID). Used to generate test and demo files.
public enum DICOMWriter {
    /// The encoding of the written dataset.
    public enum Syntax: Sendable, Equatable {
        case explicitVRLittleEndian
        case implicitVRLittleEndian
        /// Explicit VR LE dataset labelled with a compressed transfer syntax
        /// UID; supply pixel data with `Element.Value.encapsulated`.
        case encapsulated(transferSyntaxUID: String)

        var uid: String {
            switch self {
            case .explicitVRLittleEndian: return TransferSyntax.explicitVRLittleEndian
            case .implicitVRLittleEndian: return TransferSyntax.implicitVRLittleEndian
            case .encapsulated(let uid): return uid
            }
        }

        var explicitVR: Bool { self != .implicitVRLittleEndian }
    }

    /// One element to write.
    public struct Element: Sendable {
        /// An element value.
        public enum Value: Sendable {
            /// Raw bytes written as is (padded to even length); use for text
            /// already encoded in the dataset's character set.
            case bytes([UInt8])
            /// Text values encoded as UTF-8 and joined by `\`.
            case strings([String])
            case uint16s([UInt16])
            case uint32s([UInt32])
            case float64s([Double])
            /// Sequence items; undefined length uses delimitation items.
            case sequence([[Element]], undefinedLength: Bool)
            /// Encapsulated pixel data: an empty Basic Offset Table followed
            /// by one fragment per element of `fragments`.
            case encapsulated(fragments: [[UInt8]])
        }

        public var tag: DICOMTag
        public var vr: VR
        public var value: Value

        public init(_ tag: DICOMTag, _ vr: VR, _ value: Value) {
            self.tag = tag
            self.vr = vr
            self.value = value
        }

        /// A single text value.
        public static func string(_ tag: DICOMTag, _ vr: VR, _ text: String) -> Element {
            Element(tag, vr, .strings([text]))
        }
    }

    /// Identifies files written by this library in (0002,0012); a 2.25 UUID-derived UID.
    public static let implementationClassUID = "2.25.231604383702381262553307131858395346247"

    /// Encodes `elements` as a Part 10 file. Elements are sorted by tag, as
    /// PS3.5 requires. Throws only if a value is too long for its VR's
    /// 16-bit length field in Explicit VR.
    public static func write(
        _ elements: [Element], syntax: Syntax = .explicitVRLittleEndian
    ) throws(DICOMError) -> [UInt8] {
        let sorted = elements.sorted { $0.tag < $1.tag }
        func uidValue(_ tag: DICOMTag) -> String {
            for e in sorted where e.tag == tag {
                if case .strings(let s) = e.value { return s.first ?? "" }
            }
            return ""
        }
        var out = try fileMetaInformation(
            sopClassUID: uidValue(.sopClassUID), sopInstanceUID: uidValue(.sopInstanceUID),
            transferSyntaxUID: syntax.uid)
        for e in sorted { try encode(e, explicitVR: syntax.explicitVR, into: &out) }
        return out
    }

    /// The 128-byte preamble, `DICM` and the file meta information group (PS3.10 7.1) of a file holding a data set
    /// of `sopClassUID` / `sopInstanceUID` encoded in `transferSyntaxUID`: what a data set received over the network
    /// needs before it to be a Part 10 file. `sourceAETitle` names who sent it, (0002,0016).
    public static func fileMetaInformation(
        sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String, sourceAETitle: String? = nil
    ) throws(DICOMError) -> [UInt8] {
        var metaElements: [Element] = [
            Element(.fileMetaInformationVersion, .OB, .bytes([0x00, 0x01])),
            .string(.mediaStorageSOPClassUID, .UI, sopClassUID),
            .string(.mediaStorageSOPInstanceUID, .UI, sopInstanceUID),
            .string(.transferSyntaxUID, .UI, transferSyntaxUID),
            .string(.implementationClassUID, .UI, implementationClassUID),
            .string(.implementationVersionName, .SH, "SWIFTDICOM_1"),
        ]
        if let sourceAETitle {
            metaElements.append(.string(DICOMTag(0x0002, 0x0016), .AE, sourceAETitle))
        }
        var metaBody: [UInt8] = []
        for e in metaElements { try encode(e, explicitVR: true, into: &metaBody) }
        var out = [UInt8](repeating: 0, count: 128)
        out += Array("DICM".utf8)
        try encode(
            Element(.fileMetaInformationGroupLength, .UL, .uint32s([UInt32(metaBody.count)])),
            explicitVR: true, into: &out)
        out += metaBody
        return out
    }

    static func encode(_ element: Element, explicitVR: Bool, into out: inout [UInt8]) throws(DICOMError) {
        switch element.value {
        case .sequence(let items, let undefinedLength):
            var body: [UInt8] = []
            for item in items {
                var itemBody: [UInt8] = []
                for e in item.sorted(by: { $0.tag < $1.tag }) { try encode(e, explicitVR: explicitVR, into: &itemBody) }
                appendTag(.item, to: &body)
                appendUInt32(undefinedLength ? 0xFFFF_FFFF : UInt32(itemBody.count), to: &body)
                body += itemBody
                if undefinedLength { appendTag(.itemDelimitation, to: &body); appendUInt32(0, to: &body) }
            }
            if undefinedLength { appendTag(.sequenceDelimitation, to: &body); appendUInt32(0, to: &body) }
            try header(
                element.tag, .SQ, length: undefinedLength ? 0xFFFF_FFFF : UInt32(body.count),
                explicitVR: explicitVR, into: &out)
            out += body
        case .encapsulated(let fragments):
            try header(element.tag, element.vr, length: 0xFFFF_FFFF, explicitVR: explicitVR, into: &out)
            appendTag(.item, to: &out)
            appendUInt32(0, to: &out)  // empty Basic Offset Table
            for fragment in fragments {
                let padded = fragment.count % 2 == 0 ? fragment : fragment + [0]
                appendTag(.item, to: &out)
                appendUInt32(UInt32(padded.count), to: &out)
                out += padded
            }
            appendTag(.sequenceDelimitation, to: &out)
            appendUInt32(0, to: &out)
        default:
            var value = rawValue(element)
            if value.count % 2 == 1 { value.append(element.vr.paddingByte) }
            guard value.count < 0xFFFF_FFFF else {
                throw DICOMError(code: "value_too_long", detail: "\(element.tag) value of \(value.count) bytes")
            }
            try header(element.tag, element.vr, length: UInt32(value.count), explicitVR: explicitVR, into: &out)
            out += value
        }
    }

    private static func rawValue(_ element: Element) -> [UInt8] {
        switch element.value {
        case .bytes(let b): return b
        case .strings(let s): return Array(s.joined(separator: "\\").utf8)
        case .uint16s(let v): return v.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
        case .uint32s(let v):
            var b: [UInt8] = []
            for x in v { appendUInt32(x, to: &b) }
            return b
        case .float64s(let v):
            var b: [UInt8] = []
            for x in v {
                let bits = x.bitPattern
                for shift in stride(from: 0, to: 64, by: 8) {
                    b.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
                }
            }
            return b
        case .sequence, .encapsulated: return []
        }
    }

    private static func header(
        _ tag: DICOMTag, _ vr: VR, length: UInt32, explicitVR: Bool,
        into out: inout [UInt8]
    ) throws(DICOMError) {
        appendTag(tag, to: &out)
        guard explicitVR else { appendUInt32(length, to: &out); return }
        out += vr.bytes
        if vr.hasLongLength {
            out += [0, 0]
            appendUInt32(length, to: &out)
        } else {
            guard length <= 0xFFFF else {
                throw DICOMError(
                    code: "value_too_long",
                    detail: "\(tag) value of \(length) bytes does not fit VR \(vr.rawValue)")
            }
            out += [UInt8(truncatingIfNeeded: length), UInt8(truncatingIfNeeded: length >> 8)]
        }
    }

    private static func appendTag(_ tag: DICOMTag, to out: inout [UInt8]) {
        out += [
            UInt8(truncatingIfNeeded: tag.group), UInt8(truncatingIfNeeded: tag.group >> 8),
            UInt8(truncatingIfNeeded: tag.element), UInt8(truncatingIfNeeded: tag.element >> 8),
        ]
    }

    private static func appendUInt32(_ v: UInt32, to out: inout [UInt8]) {
        out += [
            UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8),
            UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 24),
        ]
    }
}
