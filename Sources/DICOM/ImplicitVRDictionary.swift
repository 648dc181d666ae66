/// Tag → VR lookup for Implicit VR datasets, where the stream carries no VR.
enum ImplicitVRDictionary {
    /// Decoded once on first use; global lets are initialised thread-safely.
    static let table: [UInt32: VR] = {
        var table: [UInt32: VR] = [:]
        let utf8 = Array(packedImplicitVRDictionary.utf8)
        table.reserveCapacity(utf8.count / 10)
        var i = 0
        while i + 10 <= utf8.count {
            if utf8[i] == 0x0A { i += 1; continue }
            var tag: UInt32 = 0
            var ok = true
            for j in 0..<8 {
                guard let d = hexValue(utf8[i + j]) else { ok = false; break }
                tag = tag << 4 | UInt32(d)
            }
            if ok, let vr = VR(byte0: utf8[i + 8], byte1: utf8[i + 9]) { table[tag] = vr }
            i += 10
        }
        return table
    }()

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }

    /// The VR an Implicit VR reader should assume for `tag`.
    static func vr(for tag: DICOMTag) -> VR {
        if tag.element == 0 { return .UL }  // group lengths
        if tag.isPrivate {
            // Private creators are always LO; other private data is opaque.
            return tag.isPrivateCreator ? .LO : .UN
        }
        if let vr = table[tag.value] { return vr }
        // Repeating groups are stored once under their base group.
        if tag.group & 0xFF00 == 0x6000 || tag.group & 0xFF00 == 0x5000, tag.group & 0x00FF <= 0x1E {
            if let vr = table[UInt32(tag.group & 0xFF00) << 16 | UInt32(tag.element)] { return vr }
        }
        return .UN
    }

    /// True when the dictionary knows `tag` (used to sniff a VR mismatch).
    static func knows(_ tag: DICOMTag) -> Bool { table[tag.value] != nil }
}
