import Foundation

/// One configuration key as the code documents and reads it.
struct ConfigurationKey: Equatable {
    var key: String
    var defaultValue: String
    var environment: String?
    var flag: String?
    var meaning: String
}

/// A problem found in the sources: a key read but not documented, a documented key never read, a flag hubd lacks.
struct SourceProblem: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Reads the keys out of `HubConfiguration.swift` (the `fileKeys` table, the `environmentKeys` table and the doc
/// comments, written `` /// `section.key`: meaning. Env `VAR`, flag `--flag`. Default: text. ``) and the flags out of
/// hubd's `Serve` command. Plain text work: the plugin never builds the package.
struct ConfigurationSource {
    /// Sections in the order the file reader lists them, each with its keys.
    var fileKeys: [(section: String, keys: Set<String>)] = []
    var environment: [String: String] = [:]
    var documented: [ConfigurationKey] = []
    var flags: Set<String> = []

    init(configuration: String, daemon: String) throws {
        fileKeys = try Self.fileKeys(configuration)
        for match in configuration.matches(of: #/\("(HUB_[A-Z0-9_]+)",\s*"([a-z][a-z0-9_]*\.[a-z0-9_]+)"\)/#) {
            environment[String(match.output.2)] = String(match.output.1)
        }
        flags = Self.flags(daemon)
        documented = try Self.documented(configuration, environment: environment)
    }

    /// `static let fileKeys: [String: Set<String>] = [ "hub": ["id", …], … ]`.
    static func fileKeys(_ text: String) throws -> [(section: String, keys: Set<String>)] {
        guard let start = text.range(of: "static let fileKeys"),
            let end = text.range(of: "\n    ]\n", range: start.upperBound..<text.endIndex)
        else {
            throw SourceProblem("cannot find `static let fileKeys` in HubConfiguration.swift")
        }
        let block = text[start.upperBound..<end.lowerBound]
        var sections: [(section: String, keys: Set<String>)] = []
        for match in block.matches(of: #/"([a-z][a-z0-9_]*)":\s*\[([^\]]*)\]/#) {
            let keys = match.output.2.matches(of: #/"([a-z0-9_]+)"/#).map { String($0.output.1) }
            sections.append((String(match.output.1), Set(keys)))
        }
        return sections
    }

    /// Long option names of `hubd serve`: `.customLong("x")`, or the property name in kebab case.
    static func flags(_ text: String) -> Set<String> {
        var flags = Set<String>()
        for match in text.matches(of: #/@Option\(([^\n]*?)\)\s*var (\w+)/#) {
            if let custom = match.output.1.firstMatch(of: #/customLong\("([a-z-]+)"\)/#) {
                flags.insert("--" + custom.output.1)
            } else {
                let kebab = match.output.2.replacing(#/[A-Z]/#) { "-" + $0.output.lowercased() }
                flags.insert("--" + kebab)
            }
        }
        return flags
    }

    /// Doc comment blocks followed by a `public var`: each line opening with `` `section.key`: `` starts a key.
    static func documented(_ text: String, environment: [String: String]) throws -> [ConfigurationKey] {
        var keys: [ConfigurationKey] = []
        var block: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("///") {
                block.append(String(trimmed.dropFirst(3)).trimmingCharacters(in: .whitespaces))
                continue
            }
            defer { block = [] }
            guard !block.isEmpty,
                let declaration = trimmed.wholeMatch(of: #/public var (\w+)(?:\s*:\s*([^=]+?))?(?:\s*=\s*(.+))?/#)
            else { continue }
            var entries: [(key: String, text: String)] = []
            for docLine in block {
                if let start = docLine.wholeMatch(of: #/`([a-z][a-z0-9_]*\.[a-z0-9_]+)`:\s*(.*)/#) {
                    entries.append((String(start.output.1), String(start.output.2)))
                } else if !entries.isEmpty {
                    entries[entries.count - 1].text += " " + docLine
                }
            }
            for (key, text) in entries {
                keys.append(
                    try entry(
                        key: key, text: text, type: declaration.output.2.map(String.init),
                        initializer: declaration.output.3.map(String.init), environment: environment[key]))
            }
        }
        return keys
    }

    static func entry(
        key: String, text: String, type: String?, initializer: String?, environment: String?
    ) throws -> ConfigurationKey {
        var meaning = text
        var defaultValue: String?
        if let range = meaning.range(of: "Default: ", options: .backwards) {
            defaultValue = String(meaning[range.upperBound...]).trimmingCharacters(in: .whitespaces)
            if defaultValue?.hasSuffix(".") == true { defaultValue?.removeLast() }
            meaning = String(meaning[..<range.lowerBound])
        }
        if let mention = meaning.firstMatch(of: #/Env `([A-Z_]+)`/#), String(mention.output.1) != environment {
            throw SourceProblem(
                "`\(key)`: the doc comment names Env `\(mention.output.1)`, but environmentKeys maps "
                    + (environment.map { "`\($0)`" } ?? "no variable") + " to it")
        }
        if environment != nil && meaning.firstMatch(of: #/Env `/#) == nil {
            throw SourceProblem("`\(key)`: environmentKeys reads `\(environment!)`; name it in the doc comment")
        }
        let flag = meaning.firstMatch(of: #/flag `(--[a-z-]+)`/#).map { String($0.output.1) }
        meaning = meaning.replacing(#/\s*Env `[A-Z_]+`(, flag `--[a-z-]+`)?\./#, with: "")
        meaning = meaning.replacing(#/\s*[Ff]lag `--[a-z-]+`\./#, with: "")
        meaning = meaning.trimmingCharacters(in: .whitespaces)
        if meaning.hasSuffix(".") { meaning.removeLast() }
        guard !meaning.isEmpty else { throw SourceProblem("`\(key)`: the doc comment says nothing about it") }
        guard let value = defaultValue ?? derivedDefault(type: type, initializer: initializer) else {
            throw SourceProblem(
                "`\(key)`: cannot read a default from `\(initializer ?? "")`; end its doc comment with `Default: …`")
        }
        return ConfigurationKey(key: key, defaultValue: value, environment: environment, flag: flag, meaning: meaning)
    }

    /// The default as a table cell, from a simple initializer: a string, a number (or a product of numbers), an enum
    /// case, an empty collection or an optional without a value.
    static func derivedDefault(type: String?, initializer: String?) -> String? {
        guard let initializer = initializer?.trimmingCharacters(in: .whitespaces) else {
            return type?.hasSuffix("?") == true ? "none" : nil
        }
        if let string = initializer.wholeMatch(of: #/"([^"]*)"/#) { return "`\(string.output.1)`" }
        if initializer == "[:]" || initializer == "[]" || initializer == "nil" { return "none" }
        if initializer.wholeMatch(of: #/[0-9_]+(\s*\*\s*[0-9_]+)*/#) != nil {
            let product = initializer.split(separator: "*").reduce(1) {
                $0 * (Int($1.replacing("_", with: "").trimmingCharacters(in: .whitespaces)) ?? 0)
            }
            return "`\(product)`"
        }
        if let member = initializer.wholeMatch(of: #/(?:[A-Z]\w*\.)+([a-z]\w*)/#) { return "`\(member.output.1)`" }
        if initializer == "true" || initializer == "false" { return "`\(initializer)`" }
        return nil
    }

    /// Every key the file reader accepts must be documented, and every documented key read; every documented flag
    /// must exist on `hubd serve`.
    func problems() -> [String] {
        let read = Set(fileKeys.flatMap { section in section.keys.map { "\(section.section).\($0)" } })
        let written = documented.map(\.key)
        var problems: [String] = []
        for key in read.subtracting(written).sorted() {
            problems.append("`\(key)` is read from the file but no doc comment line starts with `\(key)`:")
        }
        for key in Set(written).subtracting(read).sorted() {
            problems.append("`\(key)` is documented but not in fileKeys, so the file reader refuses it")
        }
        for key in Dictionary(grouping: written, by: { $0 }).filter({ $0.value.count > 1 }).keys.sorted() {
            problems.append("`\(key)` is documented twice")
        }
        for (key, variable) in environment.sorted(by: { $0.key < $1.key }) where !read.contains(key) {
            problems.append("`\(variable)` sets `\(key)`, which the file reader does not know")
        }
        for key in documented {
            if let flag = key.flag, !flags.contains(flag) {
                problems.append("`\(key.key)` names the flag `\(flag)`, which `hubd serve` does not have")
            }
        }
        return problems
    }

    /// The reference table, sections in the file reader's order, keys in the order they are documented.
    func table() -> String {
        let order = Dictionary(uniqueKeysWithValues: fileKeys.enumerated().map { ($1.section, $0) })
        let sorted = documented.enumerated().sorted { a, b in
            let sa = order[String(a.element.key.prefix { $0 != "." })] ?? Int.max
            let sb = order[String(b.element.key.prefix { $0 != "." })] ?? Int.max
            return sa != sb ? sa < sb : a.offset < b.offset
        }
        var lines = ["| key | default | environment | flag | meaning |", "|---|---|---|---|---|"]
        for (_, key) in sorted {
            let cells = [
                "`\(key.key)`", key.defaultValue, key.environment.map { "`\($0)`" } ?? "",
                key.flag.map { "`\($0)`" } ?? "", key.meaning.replacing("|", with: "\\|"),
            ]
            lines.append("|" + cells.map { $0.isEmpty ? " " : " \($0) " }.joined(separator: "|") + "|")
        }
        return lines.joined(separator: "\n")
    }
}
