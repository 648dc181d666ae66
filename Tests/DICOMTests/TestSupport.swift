import Foundation

@testable import DICOM

enum TestSupport {
    static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    /// Flattens a dataset tree into (depth, tag, VR, item count or -1) rows,
    /// the same shape the pydicom dump produces.
    static func structure(_ dataset: DataSet, depth: Int = 0) -> [(Int, String, String, Int)] {
        var rows: [(Int, String, String, Int)] = []
        for element in dataset.elements {
            if let items = element.items {
                rows.append((depth, element.tag.hex, "SQ", items.count))
                for item in items { rows += structure(item, depth: depth + 1) }
            } else {
                rows.append((depth, element.tag.hex, element.vr.rawValue, -1))
            }
        }
        return rows
    }

    static let binaryVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "UN"]

    /// Compares two DICOM JSON objects on every non-binary attribute.
    /// Returns human-readable differences (empty when equal).
    static func jsonDifferences(ours: [String: Any], reference: [String: Any], path: String = "") -> [String] {
        var diffs: [String] = []
        for (key, refValue) in reference.sorted(by: { $0.key < $1.key }) {
            guard let ref = refValue as? [String: Any], let vr = ref["vr"] as? String else { continue }
            if binaryVRs.contains(vr) || key.hasSuffix("0000") { continue }
            guard let mine = ours[key] as? [String: Any] else {
                diffs.append("\(path)\(key): missing in ours"); continue
            }
            let myVR = mine["vr"] as? String
            // pydicom re-types private elements from its private dictionaries; ours stay opaque.
            if myVR == "UN" && isPrivate(key) { continue }
            if myVR != vr {
                diffs.append("\(path)\(key): vr \(mine["vr"] ?? "nil") vs \(vr)")
                continue
            }
            let refValues = ref["Value"] as? [Any] ?? []
            let myValues = mine["Value"] as? [Any] ?? []
            if vr == "SQ" {
                if refValues.count != myValues.count {
                    diffs.append("\(path)\(key): \(myValues.count) items vs \(refValues.count)"); continue
                }
                for (i, (a, b)) in zip(myValues, refValues).enumerated() {
                    diffs += jsonDifferences(
                        ours: a as? [String: Any] ?? [:], reference: b as? [String: Any] ?? [:],
                        path: "\(path)\(key)/\(i)/")
                }
                continue
            }
            if !valuesEqual(myValues, refValues) {
                diffs.append("\(path)\(key) (\(vr)): \(myValues) vs \(refValues)")
            }
        }
        for key in ours.keys where reference[key] == nil {
            if let vr = (ours[key] as? [String: Any])?["vr"] as? String, !binaryVRs.contains(vr) {
                diffs.append("\(path)\(key): extra in ours")
            }
        }
        return diffs
    }

    static func isPrivate(_ key: String) -> Bool {
        guard let group = UInt16(key.prefix(4), radix: 16) else { return false }
        return group & 1 == 1
    }

    /// pydicom writes an empty value inside a multi-valued attribute as ""
    /// where PS3.18 F.2.5 asks for null, and keeps CS padding inside values.
    static func normalized(_ x: Any) -> Any {
        if let s = x as? String {
            let trimmed = s.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? NSNull() : trimmed
        }
        return x
    }

    static func valuesEqual(_ a: [Any], _ b: [Any]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a.map(normalized), b.map(normalized)).allSatisfy { x, y in
            if x is NSNull || y is NSNull { return x is NSNull && y is NSNull }
            if let s = x as? String, let t = y as? String { return s == t }
            if let s = x as? [String: Any], let t = y as? [String: Any] {
                return NSDictionary(dictionary: s).isEqual(to: t)
            }
            if let s = x as? NSNumber, let t = y as? NSNumber {
                let d = s.doubleValue, e = t.doubleValue
                return d == e || abs(d - e) <= 1e-9 * max(abs(d), abs(e))
            }
            return false
        }
    }

    /// A deterministic xorshift generator so randomized tests are reproducible.
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }
}
