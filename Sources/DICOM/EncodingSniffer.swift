/// Detects datasets encoded differently from what their transfer syntax
/// declares, a known fault of some writers.
enum EncodingSniffer {
    static func actualEncoding(_ body: [UInt8], at start: Int, declared: Encoding) -> Encoding {
        guard start >= 0, body.count - start >= 8 else { return declared }
        let little = declared.littleEndian
        let tag = DICOMTag(
            ByteCursor.uint16(body, at: start, littleEndian: little),
            ByteCursor.uint16(body, at: start + 2, littleEndian: little))
        let vr = VR(byte0: body[start + 4], byte1: body[start + 5])
        if declared.explicitVR {
            // Not letters where the VR should be, but a plausible implicit header.
            if vr == nil && little && (ImplicitVRDictionary.knows(tag) || tag.isGroupLength) {
                return .implicitLittle
            }
        } else if let vr, vr != .UN, ImplicitVRDictionary.vr(for: tag) == vr {
            // Letters matching the dictionary VR are an explicit header.
            return .explicitLittle
        }
        return declared
    }
}
