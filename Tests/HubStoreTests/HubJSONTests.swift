import Foundation
import HubCore
import HubStore
import TestSupport
import Testing

/// The hub's own JSON coders against Foundation's: the same bytes from every value, the same value from every text,
/// and where they leave a value or a text to Foundation's coders, `HubJSON` gives what those give.
@Suite struct HubJSONTests {
    enum Kind: String, Codable, CaseIterable { case first, second, third }

    struct Child: Codable, Equatable {
        var name: String
        var kinds: [Kind]
        var children: [Child]?
    }

    /// Every kind of value a Codable conformance hands a coder.
    struct Everything: Codable, Equatable {
        var text: String
        var optionalText: String?
        var int: Int
        var int8: Int8
        var int16: Int16
        var int32: Int32
        var int64: Int64
        var uint: UInt
        var uint8: UInt8
        var uint16: UInt16
        var uint32: UInt32
        var uint64: UInt64
        var double: Double
        var float: Float?
        var bool: Bool
        var texts: [String]
        var optionals: [Int?]
        var grid: [[Double]]
        var dictionary: [String: String]
        var numbered: [Int: Bool]
        var child: Child?
        var kind: Kind
        var money: Money?
        var day: CivilDate
        var time: Timestamp
        var date: Date?
        var data: Data?
        var url: URL?
        var decimal: Decimal?

        enum CodingKeys: String, CodingKey {
            case text, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, double, float, bool
            case texts, optionals, grid, dictionary, numbered, child, kind, money, day, time, date, data, url, decimal
            case optionalText = "optional_text"
        }

        /// Whether it holds a value that the hub's own coders leave to Foundation's.
        var holdsFoundationValue: Bool { date != nil || data != nil || url != nil || decimal != nil }

        /// Whether a key of its dictionary needs escaping, which the hub's own coders leave to Foundation's.
        var holdsEscapedKey: Bool {
            dictionary.keys.contains { $0.utf8.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C } }
        }
    }

    static let pieces = ResultDocumentTests.pieces + ["A", "Z", "_", "a1", "a10", "a2", "ａ", "\u{7F}", "\u{FEFF}"]

    static func text(_ random: inout SplitMix64) -> String { ResultDocumentTests.text(&random) }

    static func key(_ random: inout SplitMix64) -> String {
        (0..<Int.random(in: 0...3, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
    }

    /// A finite double from random bits, or a round or short one.
    static func double(_ random: inout SplitMix64) -> Double {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return Double(Int.random(in: -1_000_000...1_000_000, using: &random))
        case 1: return Double(Int.random(in: -100_000...100_000, using: &random)) / 100
        default:
            while true {
                let value = Double(bitPattern: random.next())
                if value.isFinite { return value }
            }
        }
    }

    /// A finite float from random bits, or a short one.
    static func float(_ random: inout SplitMix64) -> Float {
        guard Bool.random(using: &random) else { return Float(Int.random(in: -1000...1000, using: &random)) / 8 }
        while true {
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: random.next()))
            if value.isFinite { return value }
        }
    }

    static func child(_ random: inout SplitMix64, depth: Int = 0) -> Child {
        Child(
            name: text(&random),
            kinds: (0..<Int.random(in: 0...3, using: &random)).map { _ in
                Kind.allCases.randomElement(using: &random)!
            },
            children: depth < 2 && Bool.random(using: &random)
                ? (0..<Int.random(in: 0...2, using: &random)).map { _ in child(&random, depth: depth + 1) } : nil)
    }

    static func everything(_ random: inout SplitMix64, foundation: Bool = true) -> Everything {
        let rarely = { (random: inout SplitMix64) in foundation && Int.random(in: 0..<8, using: &random) == 0 }
        return Everything(
            text: text(&random), optionalText: ResultDocumentTests.maybe(&random, text),
            int: Int.random(in: .min ... .max, using: &random), int8: .random(in: .min ... .max, using: &random),
            int16: .random(in: .min ... .max, using: &random), int32: .random(in: .min ... .max, using: &random),
            int64: .random(in: .min ... .max, using: &random), uint: .random(in: .min ... .max, using: &random),
            uint8: .random(in: .min ... .max, using: &random), uint16: .random(in: .min ... .max, using: &random),
            uint32: .random(in: .min ... .max, using: &random), uint64: .random(in: .min ... .max, using: &random),
            double: double(&random),
            float: Int.random(in: 0..<4, using: &random) == 0 ? float(&random) : nil,
            bool: .random(using: &random),
            texts: (0..<Int.random(in: 0...3, using: &random)).map { _ in text(&random) },
            optionals: (0..<Int.random(in: 0...3, using: &random)).map { _ in
                ResultDocumentTests.maybe(&random) { Int.random(in: -99...99, using: &$0) }
            },
            grid: (0..<Int.random(in: 0...2, using: &random)).map { _ in
                (0..<Int.random(in: 0...3, using: &random)).map { _ in double(&random) }
            },
            dictionary: Dictionary(
                (0..<Int.random(in: 0...5, using: &random)).map { _ in (key(&random), text(&random)) },
                uniquingKeysWith: { first, _ in first }),
            numbered: Dictionary(
                (0..<Int.random(in: 0...3, using: &random)).map { _ in
                    (Int.random(in: -20...20, using: &random), Bool.random(using: &random))
                }, uniquingKeysWith: { first, _ in first }),
            child: ResultDocumentTests.maybe(&random) { child(&$0) },
            kind: Kind.allCases.randomElement(using: &random)!,
            money: ResultDocumentTests.maybe(&random) { Money(fen: Int64.random(in: 0...1_000_000_000, using: &$0)) },
            day: CivilDate(daysSinceEpoch: Int.random(in: -20_000...40_000, using: &random)),
            time: Timestamp(millisecondsSinceEpoch: Int64.random(in: 0...4_000_000_000_000, using: &random)),
            date: rarely(&random) ? Date(timeIntervalSince1970: double(&random) / 1e290) : nil,
            data: rarely(&random) ? Data(text(&random).utf8) : nil,
            url: rarely(&random)
                ? URL(string: "https://hub.example/a%20b?q=\(Int.random(in: 0...9, using: &random))")
                : nil,
            decimal: rarely(&random) ? Decimal(Int.random(in: -999...999, using: &random)) / 8 : nil)
    }

    static let foundationTypes: [any Any.Type] = [Data.self, URL.self, Decimal.self, Date.self]

    @Test(arguments: 0..<8)
    func everyValueIsWrittenAsJSONEncoderWritesIt(seed: UInt64) throws {
        var random = SplitMix64(state: 90_000 + seed)
        let own = SortedJSONEncoder(refusing: Self.foundationTypes)
        for _ in 0..<300 {
            let value = Self.everything(&random)
            let foundation = Array(try HubJSON.encoder().encode(value))
            #expect(try HubJSON.bytes(value) == foundation, "seed \(seed)")
            #expect(Array(try HubJSON.encode(value)) == foundation)
            let written = own.encode(value)
            #expect(written == (value.holdsFoundationValue || value.holdsEscapedKey ? nil : foundation), "seed \(seed)")
        }
    }

    @Test func numbersAreWrittenAsJSONEncoderWritesThem() throws {
        var random = SplitMix64(state: 77)
        let doubles = (0..<20_000).map { _ in Self.double(&random) } + [0, -0.0, 1e15, 1e16, 1e-4, 1e-5, 0.1, 100]
        #expect(try HubJSON.bytes(doubles) == Array(try HubJSON.encoder().encode(doubles)))
        #expect(SortedJSONEncoder().encode(doubles) == Array(try HubJSON.encoder().encode(doubles)))
        let floats = (0..<20_000).map { _ in Self.float(&random) }
        #expect(SortedJSONEncoder().encode(floats) == Array(try HubJSON.encoder().encode(floats)))
        let integers =
            [Int.min, Int.max, 0, -1, 10, -10] + (0..<1000).map { _ in Int.random(in: .min ... .max, using: &random) }
        #expect(SortedJSONEncoder().encode(integers) == Array(try HubJSON.encoder().encode(integers)))
    }

    @Test func aValueTheEncoderLeavesToJSONEncoderIsWrittenByIt() throws {
        // Not finite: JSONEncoder refuses it, and so does HubJSON.
        #expect(SortedJSONEncoder().encode([1, Double.nan]) == nil)
        #expect(throws: EncodingError.self) { try HubJSON.encode([1, Double.infinity]) }
        // Keys that need escaping.
        let escaped = ["a\"b": 1, "c\\d": 2, "e\u{1}": 3, "f": 4]
        #expect(SortedJSONEncoder().encode(escaped) == nil)
        #expect(try HubJSON.bytes(escaped) == Array(try HubJSON.encoder().encode(escaped)))
        // Containers nested by key, a super encoder, a key written twice, a value that writes nothing.
        for value in [Shaped.nested, .superEncoder, .twice, .nothing] {
            #expect(SortedJSONEncoder().encode(["x": value]) == nil, "\(value)")
            let foundation = Result { Array(try HubJSON.encoder().encode(["x": value])) }
            let hub = Result { try HubJSON.bytes(["x": value]) }
            #expect((try? hub.get()) == (try? foundation.get()), "\(value)")
        }
    }

    /// Values written through the parts of `Encoder` the hub's types do not use.
    enum Shaped: String, Encodable {
        case nested, superEncoder, twice, nothing

        enum Keys: String, CodingKey { case a, b }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .nested:
                var container = encoder.container(keyedBy: Keys.self)
                var inner = container.nestedContainer(keyedBy: Keys.self, forKey: .a)
                try inner.encode(1, forKey: .b)
                try container.encode(2, forKey: .b)
            case .superEncoder:
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(1, forKey: .a)
                try "super".encode(to: container.superEncoder())
            case .twice:
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(1, forKey: .a)
                try container.encode(2, forKey: .a)
            case .nothing:
                break
            }
        }
    }

    @Test(arguments: 0..<6)
    func everyTextIsReadAsJSONDecoderReadsIt(seed: UInt64) throws {
        var random = SplitMix64(state: 80_000 + seed)
        let own = StrictJSONDecoder(refusing: Self.foundationTypes)
        for _ in 0..<200 {
            let value = Self.everything(&random)
            let stored = try HubJSON.encoder().encode(value)
            let expected = try HubJSON.decoder().decode(Everything.self, from: stored)
            // Another writer's layout: other key order, indentation, escaped slashes and non-ASCII as \u escapes.
            let pretty = String(
                decoding: try JSONSerialization.data(
                    withJSONObject: try JSONSerialization.jsonObject(with: stored), options: [.prettyPrinted]),
                as: UTF8.self)
            let escaped = pretty.unicodeScalars.map { $0.isASCII ? String($0) : ResultReaderTests.escape($0) }.joined()
            for text in [pretty, escaped] {
                // JSONSerialization may write a number its own way; whatever the text says, it is read as JSONDecoder
                // reads it.
                let foundation = try? HubJSON.decoder().decode(Everything.self, from: Data(text.utf8))
                #expect((try? HubJSON.decode(Everything.self, from: text)) == foundation, "seed \(seed)")
                #expect((try? HubJSON.decode(Everything.self, from: Data(text.utf8))) == foundation, "seed \(seed)")
                if let read = own.decode(Everything.self, from: text) { #expect(read == foundation, "seed \(seed)") }
            }
            #expect(try HubJSON.decode(Everything.self, from: stored) == expected, "seed \(seed)")
            let read = own.decode(Everything.self, from: String(decoding: stored, as: UTF8.self))
            // Left to JSONDecoder: Foundation's types, floats, and keys written with escapes.
            #expect(
                read == (value.holdsFoundationValue || value.float != nil || value.holdsEscapedKey ? nil : expected),
                "seed \(seed)")
        }
    }

    struct Numbers: Codable, Equatable {
        var int: Int?
        var small: Int8?
        var unsigned: UInt?
        var double: Double?
        var text: String?
    }

    @Test func aTextTheDecoderLeavesToJSONDecoderIsReadByIt() throws {
        let texts = [
            // Numbers that are not what the type asks for, or that JSONDecoder reads its own way.
            #"{"int":1.0}"#, #"{"int":1e2}"#, #"{"int":-0}"#, #"{"small":200}"#, #"{"unsigned":-1}"#,
            #"{"int":99999999999999999999}"#, #"{"double":1e400}"#, #"{"double":-0.0}"#, #"{"double":01}"#,
            #"{"int":+1}"#, #"{"double":.5}"#, #"{"double":1.}"#, #"{"double":1e}"#,
            // Strings: escapes, surrogates, control characters.
            #"{"text":"a\/b\u00e9\ud83d\ude00"}"#, #"{"text":"\ud800"}"#, #"{"text":"\udc00x"}"#,
            "{\"text\":\"a\u{1}\"}",
            #"{"text":"\x"}"#, #"{"te\u0078t":"a"}"#,
            // Structure: trailing text, nesting, a byte order mark, empty text, a key twice, an unknown member.
            #"{"int":1} x"#, #"{"int":1,}"#, #"[{"int":1}]"#, "\u{FEFF}{\"int\":1}", "", " ", #"{"int":1,"int":2}"#,
            #"{"int":1,"other":{"a":[1,2,{"b":null}]}}"#, String(repeating: "[", count: 600),
            #"{"int":null,"text":null}"#, #"{}"#, #" { "int" : 7 , "text" : "x" } "#,
        ]
        for text in texts {
            let foundation = Result { try HubJSON.decoder().decode(Numbers.self, from: Data(text.utf8)) }
            let hub = Result { try HubJSON.decode(Numbers.self, from: text) }
            #expect((try? hub.get()) == (try? foundation.get()), "\(text)")
            if let own = StrictJSONDecoder().decode(Numbers.self, from: text) {
                #expect(own == (try? foundation.get()), "\(text)")
            }
        }
        // Bytes that are not UTF-8.
        for bytes in [[0x7B, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D] as [UInt8]] {
            #expect(bytes.withUnsafeBufferPointer { StrictJSONDecoder().decode(Numbers.self, from: $0) } == nil)
            let foundation = try? HubJSON.decoder().decode(Numbers.self, from: Data(bytes))
            #expect((try? HubJSON.decode(Numbers.self, from: Data(bytes))) == foundation)
        }
    }

    /// A type that catches what it cannot read: the hub's decoder leaves it to JSONDecoder, so the fallback it takes is
    /// the one JSONDecoder's reading leads to.
    struct Lenient: Decodable, Equatable {
        var value: Int?
        var text: String?

        enum CodingKeys: String, CodingKey { case value }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            value = try? container.decode(Int.self, forKey: .value)
            text = value == nil ? try container.decode(String.self, forKey: .value) : nil
        }
    }

    @Test func aTypeThatCatchesAnErrorIsReadAsJSONDecoderReadsIt() throws {
        for text in [#"{"value":1}"#, #"{"value":1.0}"#, #"{"value":"1"}"#, #"{"value":1e0}"#] {
            let foundation = try? HubJSON.decoder().decode(Lenient.self, from: Data(text.utf8))
            #expect((try? HubJSON.decode(Lenient.self, from: text)) == foundation, "\(text)")
        }
        #expect(StrictJSONDecoder().decode(Lenient.self, from: #"{"value":1.0}"#) == nil)
    }
}
