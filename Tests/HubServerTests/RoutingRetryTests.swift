import Foundation
import HubCore
import Testing

@Suite struct RoutingRetryTests {
    /// An exam that found no center is routed once one opens, without the clinic resubmitting it.
    @Test func aWaitingExamIsRoutedWhenACenterOpens() async throws {
        var hub = try TestHub()
        hub.config.monitorIntervalMilliseconds = 50
        defer { hub.remove() }
        try await hub.run { hub in
            try await hub.institution("wh-xiehe", level: "tertiary", region: "420102", alliances: ["wh-east"])
            try await hub.institution("hs-clinic", level: "primary", region: "420115", alliances: ["wh-east"])
            let (_, clinic) = try await hub.practitioner(at: "hs-clinic", title: "resident", roles: ["clinic"])
            let submitted = try await hub.call(
                .post, "/v1/exams", token: clinic, json: Alliance.examBody(patientID: residentID(sequence: "301")))
            #expect(submitted["business_status"] == "awaiting-routing")
            #expect(submitted["routing_note"] != nil)
            let examId = try #require(submitted["id"])
            let center = try await hub.call(
                .post, "/v1/centers", token: hub.admin, json: hub.centerBody(id: "wh-imaging", institution: "wh-xiehe"))
            #expect(center.status == 201)
            let routed = await TestReceiver.eventually(timeout: .seconds(10)) {
                (try? await hub.get("/v1/exams/\(examId)", token: clinic))?["center_id"] == "wh-imaging"
            }
            #expect(routed)
            let exam = try await hub.get("/v1/exams/\(examId)", token: clinic)
            #expect(exam["business_status"] == "waiting")
        }
    }

    /// A hospital that submits to a center it hosts: staff holding both the clinic and reader roles can read the
    /// exam as its center.
    @Test func staffOnBothSidesCanReadTheirOwnHospitalsExam() async throws {
        try await withHub { hub in
            try await hub.institution("wh-xiehe", level: "tertiary", region: "420102", alliances: ["wh-east"])
            #expect(
                try await hub.call(
                    .post, "/v1/centers", token: hub.admin,
                    json: hub.centerBody(id: "wh-imaging", institution: "wh-xiehe")
                ).status == 201)
            let (_, both) = try await hub.practitioner(at: "wh-xiehe", title: "attending", roles: ["clinic", "reader"])
            let submitted = try await hub.call(
                .post, "/v1/exams", token: both, json: Alliance.examBody(patientID: residentID(sequence: "302")))
            let examId = try #require(submitted["id"])
            #expect(submitted["center_id"] == "wh-imaging")
            let claimed = try await hub.call(.post, "/v1/exams/\(examId)/claim", token: both)
            #expect(claimed.status == 200, "\(claimed.text)")
            let cancelled = try await hub.call(
                .post, "/v1/exams/\(examId)/cancel", token: both, json: ["reason": "重复申请"])
            #expect(cancelled.status == 409, "claimed work cannot be cancelled by the clinic side")
        }
    }
}
