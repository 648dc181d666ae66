import DICOM
import Foundation
import HubCore
import Synchronization
import Testing

/// A valid resident ID built from a birth date and sequence, with its real check character.
func residentID(region: String = "420102", birth: String = "19800101", sequence: String = "123") -> String {
    let first17 = region + birth + sequence
    return first17 + String(ResidentID.checkCharacter(first17)!)
}

/// A small CT image as a DICOM Part 10 file, for a patient.
func ctFile(
    patientID: String, name: String = "张^三", characterSet: String = "ISO_IR 192",
    sopInstance: String = "1.2.826.0.1.3680043.10.1.1"
) throws -> Data {
    let elements: [DICOMWriter.Element] = [
        .string(.specificCharacterSet, .CS, characterSet),
        .string(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.2"),
        .string(.sopInstanceUID, .UI, sopInstance),
        .string(.studyDate, .DA, "20261122"),
        .string(.modality, .CS, "CT"),
        .string(.patientName, .PN, name),
        .string(.patientID, .LO, patientID),
        .string(.studyInstanceUID, .UI, "1.2.826.0.1.3680043.10.1"),
        .string(.seriesInstanceUID, .UI, "1.2.826.0.1.3680043.10.1.2"),
        DICOMWriter.Element(DICOMTag(0x0028, 0x0010), .US, .uint16s([4])),
        DICOMWriter.Element(DICOMTag(0x0028, 0x0011), .US, .uint16s([4])),
        DICOMWriter.Element(DICOMTag(0x7FE0, 0x0010), .OW, .bytes(Array(repeating: 0x20, count: 32))),
    ]
    return Data(try DICOMWriter.write(elements))
}

/// A county alliance: a tertiary hospital hosting an imaging center, a township clinic, and their people.
struct Alliance {
    var clinicToken: String
    var residentToken: String
    var residentId: String
    var attendingToken: String
    var attendingId: String
    var secondAttendingToken: String

    static func make(_ hub: some HubAPI, webhook: String? = nil) async throws -> Alliance {
        try await hub.institution("wh-xiehe", level: "tertiary", region: "420102", alliances: ["wh-east"])
        try await hub.institution("hs-clinic", level: "primary", region: "420115", alliances: ["wh-east"])
        let center = try await hub.call(
            .post, "/v1/centers", token: hub.admin,
            json: hub.centerBody(id: "wh-imaging", institution: "wh-xiehe", items: ["CT-CHEST", "DR-CHEST"]))
        try #require(center.status == 201, "\(center.text)")
        let (_, clinic) = try await hub.practitioner(at: "hs-clinic", title: "resident", roles: ["clinic"])
        let (residentId, resident) = try await hub.practitioner(at: "wh-xiehe", title: "resident", roles: ["reader"])
        let (attendingId, attending) = try await hub.practitioner(
            at: "wh-xiehe", title: "attending", roles: ["reader", "verifier"])
        let (_, second) = try await hub.practitioner(at: "wh-xiehe", title: "chief", roles: ["verifier"])
        if let webhook { try await hub.registerWebhook("hs-clinic", url: webhook) }
        return Alliance(
            clinicToken: clinic, residentToken: resident, residentId: residentId, attendingToken: attending,
            attendingId: attendingId, secondAttendingToken: second)
    }

    static func examBody(
        patientID: String, item: String = "CT-CHEST", priority: String = "urgent", consent: Bool = true
    ) -> [String: Any] {
        [
            "patient": [
                "identifiers": [
                    ["system": "cn-resident-id", "value": patientID], ["system": "mrn:hs-clinic", "value": "HS-0042"],
                ],
                "name": "张三", "sex": "male", "birth_date": "1980-01-01",
            ],
            "item_code": item, "priority": priority, "clinical_info": "咳嗽两周，胸痛一天",
            "consent": ["given": consent, "method": "written"],
        ]
    }
}

/// A clock that stands still until a test moves it: leases, acknowledgement deadlines and turnaround targets are
/// crossed by jumping time forward instead of sleeping. Pass `clock.read` as the `clock:` of `withHub`/`TestHub.run`.
final class SteppedClock: Sendable {
    private let time: Mutex<Timestamp>

    init(_ start: Timestamp = Timestamp.now()) { time = Mutex(start) }

    var now: Timestamp { time.withLock { $0 } }
    var read: @Sendable () -> Timestamp { { self.now } }

    func advance(minutes: Int64 = 0, seconds: Int64 = 0) {
        time.withLock { $0 = $0.adding(milliseconds: minutes * 60_000 + seconds * 1000) }
    }
}
