/// An enum whose JSON form is one of a fixed list of strings. Decoding an unknown value fails with a message that
/// lists the allowed values, which the API passes on to the client next to the field name.
public protocol ClosedSet: RawRepresentable, CaseIterable, Codable, Sendable where RawValue == String {}

extension ClosedSet {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not one of: \(Self.allowedValues)")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static var allowedValues: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

extension InstitutionLevel: ClosedSet {}
extension RecordStatus: ClosedSet {}
extension Role: ClosedSet {}
extension PractitionerTitle: ClosedSet {}
extension CenterKind: ClosedSet {}
extension Priority: ClosedSet {}
extension QualificationType: ClosedSet {}
extension ItemKind: ClosedSet {}
extension ItemCategory: ClosedSet {}
extension RecognitionScope: ClosedSet {}
