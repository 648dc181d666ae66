extension HubError {
    /// A decoding failure, as the problem with the field it is about.
    public init(decoding error: DecodingError) {
        self = Self.problem(error)
    }

    static func problem(_ error: DecodingError) -> HubError {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : "." + key.stringValue
                }
            }
            return text
        }
        switch error {
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            if field.isEmpty { return HubError.malformed("the body must be a JSON object") }
            return HubError.validation(field, "must be \(describe(type))")
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            if field.isEmpty { return HubError.malformed("the body must be a JSON object") }
            return HubError.validation(field, "must be \(describe(type)), not null")
        case .keyNotFound(let key, let context):
            return HubError.validation(path(context.codingPath + [key]), "is required")
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            if field.isEmpty {
                return HubError.malformed("the body is not valid JSON")
            }
            return HubError.validation(field, context.debugDescription)
        @unknown default:
            return HubError.malformed("the body cannot be decoded")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "a whole number"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        default:
            String(describing: type).hasPrefix("Array")
                ? "an array" : String(describing: type).hasPrefix("Dictionary") ? "an object" : "a valid value"
        }
    }
}
