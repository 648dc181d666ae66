import ArgumentParser
import CurlHTTP
import Foundation
import HubStore

/// Where the running hub is and how to authenticate: `--url`/`HUB_URL`, `--token`/`HUB_TOKEN`.
struct Connection: ParsableArguments {
    @Option(help: "The hub's base URL (env HUB_URL, default http://127.0.0.1:8080).")
    var url: String?

    @Option(help: "A bearer token (env HUB_TOKEN).")
    var token: String?

    @Flag(help: "Print the hub's JSON answer instead of a table.")
    var json = false

    var baseURL: String {
        let value = url ?? ProcessInfo.processInfo.environment["HUB_URL"] ?? "http://127.0.0.1:8080"
        return value.hasSuffix("/") ? String(value.dropLast()) : value
    }

    /// Sends one request and returns the decoded JSON; a problem answer becomes a clear error and exit code 1.
    func request(
        _ method: String, _ path: String, body: Data? = nil, contentType: String = "application/json",
        authenticated: Bool = true
    ) async throws -> Any {
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if authenticated {
            guard let token = token ?? ProcessInfo.processInfo.environment["HUB_TOKEN"], !token.isEmpty else {
                throw ValidationError("a token is needed: pass --token or set HUB_TOKEN")
            }
            headers.append(("Authorization", "Bearer \(token)"))
        }
        if body != nil { headers.append(("Content-Type", contentType)) }
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }
        let response: CurlResponse
        do {
            response = try await client.execute(
                CurlRequest(
                    method: method, url: baseURL + path, headers: headers,
                    body: body.map { .bytes(Array($0)) } ?? .none,
                    timeout: .seconds(60)))
        } catch {
            throw CLIError("cannot reach the hub at \(baseURL): \(error)")
        }
        guard (200..<300).contains(response.status) else {
            let problem = try? HubJSON.decode(Problem.self, from: response.body)
            var message =
                "\(response.status) \(problem?.code ?? "error"): \(problem?.detail ?? String(decoding: response.body, as: UTF8.self))"
            if let field = problem?.field { message += " [field: \(field)]" }
            throw CLIError(message)
        }
        // Any answer, shown as a table or as it is: read as the JSON it is, whatever its shape.
        return (try? JSONSerialization.jsonObject(with: Data(response.body))) ?? [:]
    }

    /// Sends one request with `body` as its JSON.
    func request(_ method: String, _ path: String, json body: some Encodable) async throws -> Any {
        try await request(method, path, body: try HubJSON.encode(body))
    }

    /// What a problem answer (RFC 9457) tells the operator.
    struct Problem: Decodable {
        var code: String?
        var detail: String?
        var field: String?
    }

    /// Prints JSON (with `--json`) or a table of `columns` from the answer's items (or the answer itself).
    func show(_ answer: Any, columns: [String]) throws {
        if json {
            let data = try JSONSerialization.data(
                withJSONObject: answer, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let dictionary = answer as? [String: Any] ?? [:]
        let rows = dictionary["items"] as? [[String: Any]] ?? [dictionary]
        print(Table.render(rows: rows, columns: columns))
        if let next = dictionary["next"] as? String { print("(more: --next \(next))") }
    }
}

extension Connection {
    /// Suspends or reactivates a registry record and shows it.
    func setStatus(_ status: String, at path: String, columns: [String]) async throws {
        try show(try await request("PATCH", path, json: StatusChange(status: status)), columns: columns)
    }
}

/// The body that suspends or reactivates a registry record.
struct StatusChange: Encodable {
    var status: String
}

/// A failure to report to the operator, with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Plain-text tables for people; wide characters (Chinese names) count as two columns.
enum Table {
    static func render(rows: [[String: Any]], columns: [String]) -> String {
        let cells = rows.map { row in columns.map { text(row[$0]) } }
        var widths = columns.map(width)
        for row in cells { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], width(cell)) } }
        func line(_ values: [String]) -> String {
            values.enumerated().map { i, v in v + String(repeating: " ", count: widths[i] - width(v)) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return ([line(columns.map { $0.uppercased() })] + cells.map(line)).joined(separator: "\n")
    }

    static func text(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "-"
        case let s as String: return s
        // JSON booleans arrive as NSNumbers of Objective-C type "c"; JSON numbers never do.
        case let n as NSNumber:
            return String(cString: n.objCType) == "c" ? (n.boolValue ? "true" : "false") : n.stringValue
        case let a as [Any]: return a.map { text($0) }.joined(separator: ",")
        case let d as [String: Any]: return d.keys.sorted().map { "\($0)=\(text(d[$0]))" }.joined(separator: " ")
        default: return "\(value!)"
        }
    }

    static func width(_ s: String) -> Int {
        s.unicodeScalars.reduce(0) {
            $0
                + ($1.value >= 0x1100 && $1.properties.isIdeographic || (0xFF00...0xFFEF).contains($1.value)
                    || (0x3000...0x303F).contains($1.value) ? 2 : 1)
        }
    }
}

/// Query strings from optional parameters.
func query(_ items: [(String, String?)]) -> String {
    let parts = items.compactMap { name, value -> String? in
        guard let value else { return nil }
        return name + "="
            + (value.addingPercentEncoding(
                withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? value)
    }
    return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
}

/// Reads a request body from a JSON or YAML file ("-" for standard input); YAML catalog files are sent as the
/// hub reads them, after conversion to JSON.
func readBody(_ path: String) throws -> Data {
    let data: Data
    if path == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        guard let contents = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
        data = contents
    }
    if (try? JSONSerialization.jsonObject(with: data)) != nil { return data }
    throw CLIError(
        "\(path) is not JSON; convert YAML with e.g. `python3 -c 'import sys,yaml,json; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'`"
    )
}
