import ArgumentParser
import Foundation

/// `hubctl stats`: the recognition statistics regulators read, as a table or CSV.
struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recognition statistics: reminders, adoptions, re-tests by reason, rate, savings by category.")

    @OptionGroup var connection: Connection
    @Option(help: "Start date (YYYY-MM-DD or RFC 3339; default 30 days ago).") var from: String?
    @Option(help: "End date, exclusive (default now).") var to: String?
    @Option(name: .customLong("institution"), help: "Only this requesting institution.") var institution: String?
    @Option(help: "Only this department.") var department: String?
    @Option(name: .customLong("item"), help: "Only this catalog item.") var item: String?
    @Option(help: "lab, DR, CT, MR, US, ECG or pathology.") var category: String?
    @Flag(help: "Print CSV (metric,value) for spreadsheets.") var csv = false

    func run() async throws {
        let path =
            "/v1/recognition/stats"
            + query([
                ("from", from), ("to", to), ("institution_id", institution), ("department", department),
                ("item_code", item),
                ("category", category),
            ])
        let answer = try await connection.request("GET", path)
        if connection.json {
            try connection.show(answer, columns: [])
            return
        }
        let stats = answer as? [String: Any] ?? [:]
        if csv { print("metric,value") }
        for (metric, value) in Self.rows(stats) {
            print(csv ? "\(metric),\(value)" : metric.padding(toLength: 34, withPad: " ", startingAt: 0) + value)
        }
    }

    /// The statistics flattened into (metric, value) rows, in a fixed order.
    static func rows(_ stats: [String: Any]) -> [(String, String)] {
        var rows: [(String, String)] = [
            ("from", Table.text(stats["from"])), ("to", Table.text(stats["to"])),
            ("checks", Table.text(stats["checks"])),
            ("reminders", Table.text(stats["reminders"])), ("adoptions", Table.text(stats["adoptions"])),
            ("retests", Table.text(stats["retests"])),
        ]
        let rate = (stats["recognition_rate"] as? Double).map { String(format: "%.4f", $0) } ?? "undefined"
        rows.append(("recognition_rate", rate))
        rows.append(("cross_institution_retrievals", Table.text(stats["cross_institution_retrievals"])))
        for (code, count) in (stats["retests_by_reason"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
            rows.append(("retests_reason_\(code)", Table.text(count)))
        }
        rows.append(("savings_yuan", String(format: "%.2f", stats["savings"] as? Double ?? 0)))
        for (category, amount) in (stats["savings_by_category"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }
        ) {
            rows.append(("savings_\(category)_yuan", String(format: "%.2f", amount as? Double ?? 0)))
        }
        return rows
    }
}
