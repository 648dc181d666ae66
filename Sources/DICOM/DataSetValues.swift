/// Typed access to element values. Decoding happens on demand so that
/// parsing stays cheap and unused values are never materialised.
extension DataSet {
    /// The decoded text of a string element with padding removed; multiple
    /// values stay joined by `\`. Nil for absent, sequence or binary elements.
    public func string(_ tag: DICOMTag) -> String? {
        guard let element = self[tag] else { return nil }
        return string(of: element)
    }

    /// The decoded text of `element` (see `string(_:)`).
    public func string(of element: DataElement) -> String? {
        guard element.vr.isString || element.vr == .UN, !element.isSequence,
            let raw = bytes(of: element)
        else { return nil }
        return Self.trim(characterSet.decode(raw, vr: element.vr), vr: element.vr)
    }

    /// The individual values of a string element, split on `\` after
    /// decoding (a `\` byte can be the second byte of a GBK character, so
    /// splitting raw bytes would be wrong). Text VRs (LT, ST, UT, UR) have one value.
    public func strings(_ tag: DICOMTag) -> [String]? {
        guard let element = self[tag] else { return nil }
        return strings(of: element)
    }

    /// The individual values of `element` (see `strings(_:)`).
    public func strings(of element: DataElement) -> [String]? {
        guard element.vr.isString || element.vr == .UN, !element.isSequence,
            let raw = bytes(of: element)
        else { return nil }
        let text = characterSet.decode(raw, vr: element.vr)
        if element.length == 0 { return [] }
        if element.vr.isSingleValuedText { return [Self.trim(text, vr: element.vr)] }
        return text.split(separator: "\\", omittingEmptySubsequences: false).map { Self.trim($0, vr: element.vr) }
    }

    /// A UID value without its NUL/space padding.
    public func uid(_ tag: DICOMTag) -> String? {
        guard let s = string(tag) else { return nil }
        return s.isEmpty ? nil : s
    }

    /// The first value as an integer, for US/SS/UL/SL/SV/UV and IS.
    public func int(_ tag: DICOMTag) -> Int? { ints(tag)?.first }

    /// All values as integers, for US/SS/UL/SL/SV/UV and IS. Values that do
    /// not parse or do not fit in `Int` are dropped.
    public func ints(_ tag: DICOMTag) -> [Int]? {
        guard let element = self[tag] else { return nil }
        return ints(of: element)
    }

    /// All values of `element` as integers (see `ints(_:)`).
    public func ints(of element: DataElement) -> [Int]? {
        switch element.vr {
        case .IS:
            return strings(of: element)?.compactMap { Self.parseInt($0) }
        case .US, .SS, .UL, .SL, .SV, .UV:
            return binaryIntegers(of: element)
        default:
            return nil
        }
    }

    /// The first value as a floating-point number, for FL/FD/DS and integer VRs.
    public func double(_ tag: DICOMTag) -> Double? { doubles(tag)?.first }

    /// All values as floating-point numbers, for FL/FD/DS and integer VRs.
    public func doubles(_ tag: DICOMTag) -> [Double]? {
        guard let element = self[tag] else { return nil }
        return doubles(of: element)
    }

    /// All values of `element` as floating-point numbers (see `doubles(_:)`).
    public func doubles(of element: DataElement) -> [Double]? {
        switch element.vr {
        case .DS:
            return strings(of: element)?.compactMap { Double($0) }
        case .FL, .FD:
            guard let raw = bytes(of: element) else { return nil }
            let little = encoding.littleEndian
            let width = element.vr == .FL ? 4 : 8
            let base = raw.startIndex
            return (0..<(raw.count / width)).map { i in
                let at = base + i * width
                return width == 4
                    ? Double(Float(bitPattern: ByteCursor.uint32(self.buffer, at: at, littleEndian: little)))
                    : Double(bitPattern: ByteCursor.uint64(buffer, at: at, littleEndian: little))
            }
        default:
            return ints(of: element)?.map { Double($0) }
        }
    }

    /// Attribute Tag (AT) values.
    public func tagValues(_ tag: DICOMTag) -> [DICOMTag]? {
        guard let element = self[tag], element.vr == .AT, let raw = bytes(of: element) else { return nil }
        let little = encoding.littleEndian
        return (0..<(raw.count / 4)).map { i in
            let at = raw.startIndex + i * 4
            return DICOMTag(
                ByteCursor.uint16(buffer, at: at, littleEndian: little),
                ByteCursor.uint16(buffer, at: at + 2, littleEndian: little))
        }
    }

    /// A Person Name value split into component groups and components.
    public func personName(_ tag: DICOMTag) -> PersonName? {
        guard let s = string(tag) else { return nil }
        return PersonName(s.split(separator: "\\", omittingEmptySubsequences: false).first.map(String.init) ?? "")
    }

    /// All Person Name values of `element`.
    public func personNames(of element: DataElement) -> [PersonName]? {
        strings(of: element)?.map { PersonName($0) }
    }

    private func binaryIntegers(of element: DataElement) -> [Int]? {
        guard let raw = bytes(of: element), let width = element.vr.numericWidth else { return nil }
        let little = encoding.littleEndian

        var result: [Int] = []
        result.reserveCapacity(raw.count / width)
        for i in 0..<(raw.count / width) {
            let at = raw.startIndex + i * width
            switch element.vr {
            case .US: result.append(Int(ByteCursor.uint16(buffer, at: at, littleEndian: little)))
            case .SS: result.append(Int(Int16(bitPattern: ByteCursor.uint16(buffer, at: at, littleEndian: little))))
            case .UL: result.append(Int(ByteCursor.uint32(self.buffer, at: at, littleEndian: little)))
            case .SL: result.append(Int(Int32(bitPattern: ByteCursor.uint32(buffer, at: at, littleEndian: little))))
            case .SV: result.append(Int(Int64(bitPattern: ByteCursor.uint64(buffer, at: at, littleEndian: little))))
            case .UV:
                if let v = Int(exactly: ByteCursor.uint64(buffer, at: at, littleEndian: little)) { result.append(v) }
            default: break
            }
        }
        return result
    }

    /// IS values are decimal integers, but writers sometimes emit "1.0".
    static func parseInt(_ s: String) -> Int? {
        if let v = Int(s) { return v }
        if let d = Double(s), d.isFinite, d == d.rounded(), abs(d) < 9.0e15 { return Int(d) }
        return nil
    }

    /// Removes padding: trailing spaces/NULs always; leading spaces too,
    /// except for text VRs where they are significant.
    static func trim(_ s: some StringProtocol, vr: VR) -> String {
        var sub = Substring(s)
        while let l = sub.last, l == " " || l == "\0" { sub = sub.dropLast() }
        if !(vr == .LT || vr == .ST || vr == .UT) {
            while let f = sub.first, f == " " { sub = sub.dropFirst() }
        }
        return String(sub)
    }
}
