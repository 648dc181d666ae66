import Foundation
import GRDB
import HTTPTypes
import HubStore
import TestSupport
import Testing

/// What a field of a write route holds, so a generator can give it a value of the wrong JSON type.
enum FieldShape {
    case string, integer, number, array, object, enumeration, date
}

struct WriteRoute {
    var method: HTTPRequest.Method
    var path: String
    var template: [String: Any]
    var shapes: [String: FieldShape]
    /// PATCH and token routes accept a body with no fields; leaving fields out is not malformed there.
    var everyFieldOptional: Bool
}

@Suite struct MalformedBodyTests {
    static let perRoute = 1000

    /// Generates a body that is certainly invalid for the route.
    static func malformed(for route: WriteRoute, using rng: inout SplitMix64) -> (Data, String) {
        let template = try! JSONSerialization.data(withJSONObject: route.template, options: [.sortedKeys])
        switch rng.next() % 6 {
        case 0:  // random bytes that do not form a JSON object
            while true {
                let count = 1 + Int(rng.next() % 200)
                let bytes = Data((0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
                if (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any] == nil {
                    return (bytes, "application/json")
                }
            }
        case 1:  // the valid body cut short
            let cut = 1 + Int(rng.next() % UInt64(template.count - 2))
            return (template.prefix(cut), "application/json")
        case 2:  // a JSON value that is not an object
            let values = ["[]", "[1,2,3]", "42", "\"text\"", "null", "true", "[{\"name\":\"x\"}]"]
            return (Data(values[Int(rng.next() % UInt64(values.count))].utf8), "application/json")
        case 3:  // one field of the wrong JSON type
            let keys = route.shapes.keys.sorted()
            let key = keys[Int(rng.next() % UInt64(keys.count))]
            var body = route.template
            body[key] = wrongValue(for: route.shapes[key]!, using: &rng)
            return (try! JSONSerialization.data(withJSONObject: body), "application/json")
        case 4:  // a valid body with the wrong media type
            let types = ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data"]
            return (template, types[Int(rng.next() % UInt64(types.count))])
        default:  // a nested value broken: strings into numbers, dates out of the calendar
            var body = route.template
            let key = route.shapes.keys.sorted()[Int(rng.next() % UInt64(route.shapes.count))]
            switch route.shapes[key]! {
            case .date: body[key] = ["2026-02-30", "2026-13-01", "yesterday", "20260101", ""][Int(rng.next() % 5)]
            case .enumeration: body[key] = "not-a-value-\(rng.next() % 1000)"
            case .array: body[key] = [["nested": true], 3.5, NSNull()]
            default: body[key] = NSNull() as Any
            }
            if route.shapes[key]! == .string || route.shapes[key]! == .integer || route.shapes[key]! == .number
                || route.shapes[key]! == .object
            {
                body[key] = [1, 2]
            }
            return (try! JSONSerialization.data(withJSONObject: body), "application/json")
        }
    }

    static func wrongValue(for shape: FieldShape, using rng: inout SplitMix64) -> Any {
        let choice = rng.next() % 3
        switch shape {
        case .string, .enumeration, .date: return choice == 0 ? 12345 : (choice == 1 ? ["a"] : ["k": "v"])
        case .integer: return choice == 0 ? "many" : (choice == 1 ? 1.5 : [3])
        case .number: return choice == 0 ? "cheap" : (choice == 1 ? [1] : ["yuan": 3])
        case .array: return choice == 0 ? "CT-CHEST" : (choice == 1 ? 7 : ["a": 1])
        case .object: return choice == 0 ? "x" : (choice == 1 ? [1, 2] : 9)
        }
    }

    /// A digest of every table a write could touch.
    static func fingerprint(_ database: AppDatabase) async throws -> String {
        try await database.read { db in
            var parts: [String] = []
            for table in [
                "institutions", "practitioners", "tokens", "centers", "center_items", "catalog_versions",
                "catalog_items", "audit_log", "idempotency_keys",
            ] {
                let rows = try Row.fetchAll(db, sql: "SELECT * FROM \(table)").map(\.description)
                // FNV-1a over the rows keeps the expectation message short when it fails.
                var hash: UInt64 = 0xcbf2_9ce4_8422_2325
                for byte in rows.joined(separator: "|").utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
                parts.append("\(table):\(rows.count):\(String(hash, radix: 16))")
            }
            return parts.joined(separator: ";")
        }
    }

    @Test func malformedBodiesNeverCauseA5xxOrAWrite() async throws {
        try await withHub { hub in
            try await hub.institution("host", level: "tertiary")
            let (practitionerId, _) = try await hub.practitioner(at: "host", roles: ["reader", "verifier"])
            let center = try await hub.call(
                .post, "/v1/centers", token: hub.admin, json: hub.centerBody(id: "img", institution: "host"))
            try #require(center.status == 201)
            let institution: [String: FieldShape] = [
                "name": .string, "level": .enumeration, "region": .string, "alliances": .array, "status": .enumeration,
                "id": .string,
            ]
            let practitioner: [String: FieldShape] = [
                "name": .string, "title": .enumeration, "roles": .array, "department": .string, "status": .enumeration,
            ]
            let centerShapes: [String: FieldShape] = [
                "name": .string, "kind": .enumeration, "institution_id": .string, "items": .array, "modalities": .array,
                "hours": .array, "daily_capacity": .integer, "turnaround_minutes": .object, "qualifications": .array,
                "status": .enumeration,
            ]
            let catalogItem: [String: Any] = [
                "code": "K", "name": "钾", "kind": "lab", "category": "lab", "validity_days": 7, "scope": "city",
                "price": 5,
            ]
            let routes = [
                WriteRoute(
                    method: .post, path: "/v1/institutions",
                    template: ["name": "卫生院", "level": "primary", "region": "420102", "alliances": ["a"]],
                    shapes: institution, everyFieldOptional: false),
                WriteRoute(
                    method: .patch, path: "/v1/institutions/host",
                    template: ["name": "新名", "level": "secondary", "status": "active"], shapes: institution,
                    everyFieldOptional: true),
                WriteRoute(
                    method: .post, path: "/v1/institutions/host/practitioners",
                    template: ["name": "医生", "title": "resident", "roles": ["reader"], "department": "放射科"],
                    shapes: practitioner, everyFieldOptional: false),
                WriteRoute(
                    method: .patch, path: "/v1/practitioners/\(practitionerId)",
                    template: ["title": "chief", "status": "active"], shapes: practitioner, everyFieldOptional: true),
                WriteRoute(
                    method: .post, path: "/v1/practitioners/\(practitionerId)/tokens",
                    template: ["label": "ws", "roles": ["reader"]], shapes: ["label": .string, "roles": .array],
                    everyFieldOptional: true),
                WriteRoute(
                    method: .post, path: "/v1/centers", template: hub.centerBody(id: "c2", institution: "host"),
                    shapes: centerShapes, everyFieldOptional: false),
                WriteRoute(
                    method: .patch, path: "/v1/centers/img", template: ["daily_capacity": 50, "status": "active"],
                    shapes: centerShapes, everyFieldOptional: true),
                WriteRoute(
                    method: .post, path: "/v1/catalog/versions",
                    template: ["version": "2040.1", "effective_from": "2040-01-01", "items": [catalogItem]],
                    shapes: ["version": .string, "effective_from": .date, "items": .array, "title": .string],
                    everyFieldOptional: false),
            ]
            let before = try await Self.fingerprint(hub.database)
            for (index, route) in routes.enumerated() {
                var rng = SplitMix64(state: 0xC0FFEE + UInt64(index))
                var statuses: [Int: Int] = [:]
                for attempt in 0..<Self.perRoute {
                    let (body, contentType) = Self.malformed(for: route, using: &rng)
                    let reply = try await hub.call(
                        route.method, route.path, token: hub.admin, raw: body, contentType: contentType)
                    statuses[reply.status, default: 0] += 1
                    if !(400..<500).contains(reply.status) {
                        Issue.record(
                            "\(route.method) \(route.path) attempt \(attempt): \(reply.status) for \(String(decoding: body, as: UTF8.self).prefix(200)) -> \(reply.text)"
                        )
                        break
                    }
                    if reply.contentType != "application/problem+json" {
                        Issue.record("\(route.method) \(route.path): not a problem document")
                        break
                    }
                }
                #expect(statuses.keys.allSatisfy { (400..<500).contains($0) })
            }
            let after = try await Self.fingerprint(hub.database)
            #expect(after == before, "malformed bodies changed the database")
        }
    }
}
