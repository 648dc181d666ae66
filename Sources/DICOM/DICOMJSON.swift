/// Encodes datasets as DICOM JSON (`application/dicom+json`, PS3.18 F.2).
public enum DICOMJSON {
    /// Returns the DICOM JSON object for `dataset`.
    ///
    /// - Parameters:
    ///   - includeBulkData: emit binary values (OB/OD/OF/OL/OV/OW/UN) as
    ///     base64 `InlineBinary`. When false they are left out, or emitted as
    ///     `BulkDataURI` if `bulkDataBaseURI` is given.
    ///   - bulkDataBaseURI: prefix for bulk data URIs; each element gets
    ///     `<base>/<tag>[/<item>/<tag>...]` so nested values stay addressable.
    /// Group length elements (gggg,0000) are omitted, as PS3.18 F.2 requires.
    public static func encode(
        _ dataset: DataSet, includeBulkData: Bool = false,
        bulkDataBaseURI: String? = nil
    ) -> String {
        var json = DICOMJSONWriter()
        Encoding(includeBulkData: includeBulkData, base: bulkDataBaseURI).object(dataset, path: [], into: &json)
        return json.text
    }

    /// The DICOM JSON object of only the top-level attributes in `tags` (nested sequences whole), e.g. the study-
    /// or series-level attributes of an instance.
    public static func encode(_ dataset: DataSet, only tags: Set<DICOMTag>) -> String {
        var json = DICOMJSONWriter()
        Encoding(includeBulkData: false, base: nil, only: tags).object(dataset, path: [], into: &json)
        return json.text
    }

    /// One value of an attribute, typed as DICOM JSON writes it.
    private enum Value {
        case string(String)
        case integer(Int)
        case number(Double)
        case personName(PersonName)
        case null

        func write(to json: inout DICOMJSONWriter) {
            switch self {
            case .string(let value): json.string(value)
            case .integer(let value): json.integer(value)
            case .number(let value): json.number(value)
            case .personName(let value): json.personName(value)
            case .null: json.null()
            }
        }

        var isNull: Bool {
            if case .null = self { return true }
            return false
        }
    }

    private struct Encoding {
        let includeBulkData: Bool
        let base: String?
        /// When set, the top-level attributes written; nested datasets are written whole.
        var only: Set<DICOMTag>? = nil

        func object(_ dataset: DataSet, path: [String], into json: inout DICOMJSONWriter) {
            json.object { json in
                var seen = Set<DICOMTag>()
                let filter = path.isEmpty ? only : nil
                for element in dataset.elements.sorted(by: { $0.tag < $1.tag })
                where !element.tag.isGroupLength && (filter?.contains(element.tag) ?? true)
                    && seen.insert(element.tag).inserted
                {
                    attribute(element, in: dataset, path: path + [element.tag.hex], into: &json)
                }
            }
        }

        func attribute(_ element: DataElement, in dataset: DataSet, path: [String], into json: inout DICOMJSONWriter) {
            let vr: VR = element.isSequence ? .SQ : element.vr
            json.attribute(element.tag, vr) { json in
                if let items = element.items {
                    guard !items.isEmpty else { return }
                    json.values { json in
                        for (i, item) in items.enumerated() { object(item, path: path + [String(i)], into: &json) }
                    }
                    return
                }
                if vr.isBulkBinary {
                    if includeBulkData && !element.isEncapsulated, let raw = dataset.bytes(of: element), !raw.isEmpty {
                        json.inlineBinary(Base64.encode(raw))
                    } else if let base {
                        json.bulkDataURI(base + "/" + path.joined(separator: "/"))
                    }
                    return
                }
                // A value that is only padding is empty (PS3.18 F.2.5): no "Value" at all.
                guard element.length > 0, let values = values(element, vr: vr, in: dataset), !values.isEmpty,
                    !(values.count == 1 && values[0].isNull)
                else { return }
                json.values { json in for value in values { value.write(to: &json) } }
            }
        }

        func values(_ element: DataElement, vr: VR, in dataset: DataSet) -> [Value]? {
            switch vr {
            case .PN:
                return dataset.personNames(of: element)?.map { $0.raw.isEmpty ? .null : .personName($0) }
            case .IS:
                return dataset.strings(of: element)?.map { s in
                    if s.isEmpty { return .null }
                    return DataSet.parseInt(s).map(Value.integer) ?? .string(s)
                }
            case .DS:
                return dataset.strings(of: element)?.map { s in
                    if s.isEmpty { return .null }
                    return Double(s).map(Value.number) ?? .string(s)
                }
            case .US, .SS, .UL, .SL, .SV, .UV:
                return dataset.ints(of: element)?.map(Value.integer)
            case .FL, .FD:
                return dataset.doubles(of: element)?.map(Value.number)
            case .AT:
                return dataset.tagValues(element.tag)?.map { .string($0.hex) }
            default:
                return dataset.strings(of: element)?.map { $0.isEmpty ? .null : .string($0) }
            }
        }
    }

    /// A JSON string literal for `s`.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let h = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
