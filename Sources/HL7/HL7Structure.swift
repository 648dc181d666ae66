/// The explicit null of HL7 v2: a value of exactly two double quotes, meaning "delete the value the receiver holds",
/// as opposed to an empty value, which means "no value sent".
let explicitNullText = "\"\""

/// One component of a field repetition: its subcomponents, each as unescaped text.
///
/// Text is held unescaped; escaping happens only when a message is written. An empty component has no
/// subcomponents.
public struct HL7Component: Sendable, Hashable, ExpressibleByStringInterpolation {
    /// The unescaped text of each subcomponent, in order (index 0 is subcomponent 1).
    public var subcomponents: [String]

    /// An empty component.
    public init() { subcomponents = [] }

    /// A component of one subcomponent holding `text` (which is escaped when written, never split).
    public init(_ text: String) { subcomponents = text.isEmpty ? [] : [text] }

    /// A component of the given subcomponents.
    public init(subcomponents: [String]) { self.subcomponents = subcomponents }

    /// A component of one subcomponent holding `value`.
    public init(stringLiteral value: String) { self.init(value) }

    /// A component of one subcomponent holding the interpolated text.
    public init(stringInterpolation: DefaultStringInterpolation) {
        self.init(String(stringInterpolation: stringInterpolation))
    }

    /// The explicit null `""`.
    public static let explicitNull = HL7Component(explicitNullText)

    /// The unescaped text of subcomponent `n` (1-based); empty when absent. Setting pads with empty subcomponents.
    public subscript(_ n: Int) -> String {
        get { n >= 1 && n <= subcomponents.count ? subcomponents[n - 1] : "" }
        set {
            precondition(n >= 1, "HL7 subcomponents are numbered from 1")
            while subcomponents.count < n { subcomponents.append("") }
            subcomponents[n - 1] = newValue
        }
    }

    /// The unescaped text of subcomponent `subcomponent`, or nil when it is absent, empty or the explicit null.
    public func value(subcomponent: Int = 1) -> String? {
        let text = self[subcomponent]
        return text.isEmpty || text == explicitNullText ? nil : text
    }

    /// Whether the component holds no text at all.
    public var isEmpty: Bool { subcomponents.allSatisfy(\.isEmpty) }

    /// Whether the component is the explicit null `""` (and nothing else).
    public var isExplicitNull: Bool {
        subcomponents.first == explicitNullText && subcomponents.dropFirst().allSatisfy(\.isEmpty)
    }
}

/// One repetition of a field: its components.
public struct HL7Repetition: Sendable, Hashable, ExpressibleByStringInterpolation {
    /// The components, in order (index 0 is component 1).
    public var components: [HL7Component]

    /// An empty repetition.
    public init() { components = [] }

    /// A repetition of one component holding `text` (escaped when written, never split).
    public init(_ text: String) { components = text.isEmpty ? [] : [HL7Component(text)] }

    /// A repetition of the given components.
    public init(components: [HL7Component]) { self.components = components }

    /// A repetition of one component per text, each with one subcomponent.
    public init(texts: [String]) { components = texts.map { HL7Component($0) } }

    /// A repetition of one component holding `value`.
    public init(stringLiteral value: String) { self.init(value) }

    /// A repetition of one component holding the interpolated text.
    public init(stringInterpolation: DefaultStringInterpolation) {
        self.init(String(stringInterpolation: stringInterpolation))
    }

    /// Component `n` (1-based); empty when absent. Setting pads with empty components.
    public subscript(_ n: Int) -> HL7Component {
        get { n >= 1 && n <= components.count ? components[n - 1] : HL7Component() }
        set {
            precondition(n >= 1, "HL7 components are numbered from 1")
            while components.count < n { components.append(HL7Component()) }
            components[n - 1] = newValue
        }
    }

    /// The unescaped text at `component` and `subcomponent`, or nil when absent, empty or the explicit null.
    public func value(component: Int = 1, subcomponent: Int = 1) -> String? {
        self[component].value(subcomponent: subcomponent)
    }

    /// Whether the repetition holds no text at all.
    public var isEmpty: Bool { components.allSatisfy(\.isEmpty) }

    /// Whether the repetition is the explicit null `""` (and nothing else).
    public var isExplicitNull: Bool {
        guard let first = components.first else { return false }
        return first.isExplicitNull && components.dropFirst().allSatisfy(\.isEmpty)
    }
}

/// One field of a segment: its repetitions (most fields have one).
///
/// A field made from a single text (`HL7Field("a^b")` or a string literal) holds that text as one value: the
/// delimiters in it are escaped when the message is written, never taken as structure.
public struct HL7Field: Sendable, Hashable, ExpressibleByStringInterpolation {
    /// The repetitions, in order (index 0 is the first). An empty field has none.
    public var repetitions: [HL7Repetition]

    /// An empty field.
    public init() { repetitions = [] }

    /// A field of one repetition of one component holding `text`.
    public init(_ text: String) { repetitions = text.isEmpty ? [] : [HL7Repetition(text)] }

    /// A field of one repetition made of the given components, each one text.
    public init(components: [String]) { repetitions = [HL7Repetition(texts: components)] }

    /// A field of the given repetitions.
    public init(repetitions: [HL7Repetition]) { self.repetitions = repetitions }

    /// A field of one repetition holding `value`.
    public init(stringLiteral value: String) { self.init(value) }

    /// A field of one repetition holding the interpolated text.
    public init(stringInterpolation: DefaultStringInterpolation) {
        self.init(String(stringInterpolation: stringInterpolation))
    }

    /// The explicit null `""`: tells the receiver to delete the value it holds.
    public static let explicitNull = HL7Field(explicitNullText)

    /// Repetition `n` (1-based); empty when absent. Setting pads with empty repetitions.
    public subscript(repetition n: Int) -> HL7Repetition {
        get { n >= 1 && n <= repetitions.count ? repetitions[n - 1] : HL7Repetition() }
        set {
            precondition(n >= 1, "HL7 repetitions are numbered from 1")
            while repetitions.count < n { repetitions.append(HL7Repetition()) }
            repetitions[n - 1] = newValue
        }
    }

    /// The unescaped text at `component` and `subcomponent` of repetition `repetition`, or nil when absent, empty or
    /// the explicit null.
    public func value(component: Int = 1, subcomponent: Int = 1, repetition: Int = 1) -> String? {
        self[repetition: repetition].value(component: component, subcomponent: subcomponent)
    }

    /// Whether the field holds no text at all.
    public var isEmpty: Bool { repetitions.allSatisfy(\.isEmpty) }

    /// Whether the field is the explicit null `""` (and nothing else).
    public var isExplicitNull: Bool {
        guard let first = repetitions.first else { return false }
        return first.isExplicitNull && repetitions.dropFirst().allSatisfy(\.isEmpty)
    }
}

/// One segment of a message: its three-character ID and its fields, numbered from 1 as in the standard.
///
/// In an MSH segment field 1 is the field separator and field 2 the encoding characters, so that `msh[9]` is the
/// message type as the standard numbers it. When a message is written, MSH-1 and MSH-2 always come from the message's
/// `encodingCharacters`, whatever these two fields hold.
public struct HL7Segment: Sendable, Hashable {
    /// The segment ID, e.g. `PID`.
    public var id: String
    /// The fields in order; index 0 is field 1.
    public var fields: [HL7Field]

    /// A segment with the given ID and fields, the first of which is field 1.
    public init(id: String, fields: [HL7Field] = []) {
        self.id = id
        self.fields = fields
    }

    /// A segment with the given ID and the fields at the given 1-based numbers; the others are empty.
    public init(id: String, fields numbered: [Int: HL7Field]) {
        self.init(id: id)
        for (number, field) in numbered.sorted(by: { $0.key < $1.key }) { self[number] = field }
    }

    /// Field `n` (1-based); empty when absent. Setting pads with empty fields.
    public subscript(_ n: Int) -> HL7Field {
        get { n >= 1 && n <= fields.count ? fields[n - 1] : HL7Field() }
        set {
            precondition(n >= 1, "HL7 fields are numbered from 1")
            while fields.count < n { fields.append(HL7Field()) }
            fields[n - 1] = newValue
        }
    }

    /// The unescaped text at the given position, or nil when it is absent, empty or the explicit null `""` (see
    /// `isExplicitNull(_:component:subcomponent:repetition:)` to tell the explicit null apart).
    public func value(_ field: Int, component: Int = 1, subcomponent: Int = 1, repetition: Int = 1) -> String? {
        self[field].value(component: component, subcomponent: subcomponent, repetition: repetition)
    }

    /// Whether the given position holds the explicit null `""`: the whole field when `component` is nil, else that
    /// component (or, with `subcomponent`, that subcomponent) of repetition `repetition`.
    public func isExplicitNull(
        _ field: Int, component: Int? = nil, subcomponent: Int? = nil, repetition: Int = 1
    ) -> Bool {
        guard let component else { return self[field].isExplicitNull }
        let value = self[field][repetition: repetition][component]
        guard let subcomponent else { return value.isExplicitNull }
        return value[subcomponent] == explicitNullText
    }

    /// Whether `id` is a valid segment ID: an upper-case ASCII letter then two upper-case ASCII letters or digits.
    static func isValidID(_ id: some Collection<UInt8>) -> Bool {
        guard id.count == 3 else { return false }
        for (offset, byte) in id.enumerated() {
            let letter = byte >= 0x41 && byte <= 0x5A
            let digit = byte >= 0x30 && byte <= 0x39
            guard letter || (offset > 0 && digit) else { return false }
        }
        return true
    }
}
