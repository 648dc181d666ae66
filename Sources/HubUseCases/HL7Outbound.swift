import Foundation
import HL7
import HubConfig
import HubCore
import HubStorage

/// What the hub sends hospital systems over MLLP, through the durable outbox (destination `hl7:<application>`):
/// - an exam routed to one of this hub's centers, to the receiving applications of the center's institution (an
///   application registered with a `port`): ORM^O01 to its RIS or HIS, or OML^O21 to its LIS for a laboratory item;
/// - a verified (or amended) report, to the receiving HIS of the clinic that ordered it: ORU^R01.
///
/// The outbox sends each message until its receiver answers AA or CA; AR and a missing answer are retried with the
/// outbox's back-off, AE (the receiver refused the content) makes the delivery dead for an operator to look at and
/// replay. The placer order number (ORC-2, OBR-2) is the exam's accession number, namespace the hub's application.
struct HL7Outbound: Sendable {
    let application: String
    let facility: String
    let utcOffsetMinutes: Int
    let policy: RetryPolicy
    let signal: OutboxSignal

    init(_ env: HubEnvironment) {
        application = env.config.hl7Application
        facility = env.config.hl7Facility
        utcOffsetMinutes = env.config.utcOffsetMinutes
        policy = env.config.retryPolicy
        signal = env.outbox
    }

    static let contentType = "application/hl7-v2"

    /// The receivers an institution registered for a kind of message: its applications with a port, of the kinds
    /// given (the first kind that has one wins: a RIS before the HIS).
    static func receivers(
        _ db: any StoreReader, institutionId: String, kinds: [HL7ApplicationKind]
    ) throws -> [HL7Application] {
        let registered = try db.hl7Applications(institutionId: institutionId).filter { $0.port != nil }
        for kind in kinds {
            let found = registered.filter { $0.kind == kind }
            if !found.isEmpty { return found }
        }
        return []
    }

    /// Queues the order of an exam just routed to a center of this hub, in the routing's transaction.
    func order(_ db: any StoreWriter, _ exam: Exam, center: Center, now: Timestamp) throws {
        let lab = exam.itemKind == .lab
        for receiver in try Self.receivers(
            db, institutionId: center.institutionId, kinds: lab ? [.lis, .his] : [.ris, .his])
        {
            let control = GeneratedID.make("hl7", at: now)
            var segments = [
                header(lab ? ["OML", "O21", "OML_O21"] : ["ORM", "O01", "ORM_O01"], to: receiver, control, now),
                Self.pid(exam.patient), HL7Segment(id: "PV1", fields: [1: "1", 2: "O"]),
            ]
            var orc = HL7Segment(id: "ORC")
            orc[1] = "NW"
            orc[2] = placer(exam)
            orc[9] = HL7Field(
                HL7Time.dateTime(exam.milestones.submittedAt, utcOffsetMinutes: utcOffsetMinutes).format())
            var obr = HL7Segment(id: "OBR")
            obr[1] = "1"
            obr[2] = placer(exam)
            obr[4] = HL7Field(components: [exam.itemCode, exam.itemName, "L"])
            obr[5] = HL7Field(exam.priority == .routine ? "R" : "S")
            if let info = exam.clinicalInfo { obr[13] = HL7Field(info) }
            segments += [orc, obr]
            try enqueue(db, segments, to: receiver, kind: lab ? "hl7.oml_o21" : "hl7.orm_o01", exam: exam, now: now)
        }
    }

    /// Queues the report of an exam to its clinic's HIS, in the transaction that verified or amended it.
    func report(_ db: any StoreWriter, _ exam: Exam, _ report: ReportVersion, now: Timestamp) throws {
        guard exam.origin == nil else { return }  // a peer hub's clinic hears from that hub
        for receiver in try Self.receivers(db, institutionId: exam.clinicId, kinds: [.his]) {
            let control = GeneratedID.make("hl7", at: now)
            let status = report.version > 1 ? "C" : "F"
            var orc = HL7Segment(id: "ORC")
            orc[1] = "RE"
            orc[2] = placer(exam)
            var obr = HL7Segment(id: "OBR")
            obr[1] = "1"
            obr[2] = placer(exam)
            obr[4] = HL7Field(components: [exam.itemCode, exam.itemName, "L"])
            obr[7] = HL7Field(HL7Time.dateTime(report.authoredAt, utcOffsetMinutes: utcOffsetMinutes).format())
            if let verified = report.verifiedAt {
                obr[22] = HL7Field(HL7Time.dateTime(verified, utcOffsetMinutes: utcOffsetMinutes).format())
            }
            obr[25] = HL7Field(status)
            var segments = [
                header(["ORU", "R01", "ORU_R01"], to: receiver, control, now), Self.pid(exam.patient), orc, obr,
            ]
            for (index, part) in [("FINDINGS", "检查所见", report.findings), ("IMPRESSION", "诊断意见", report.conclusion)]
                .enumerated()
            {
                var obx = HL7Segment(id: "OBX")
                obx[1] = HL7Field("\(index + 1)")
                obx[2] = "FT"
                obx[3] = HL7Field(components: [part.0, part.1, "L"])
                obx[5] = HL7Field(part.2)
                obx[11] = HL7Field(status)
                segments.append(obx)
            }
            try enqueue(db, segments, to: receiver, kind: "hl7.oru_r01", exam: exam, now: now)
        }
    }

    func placer(_ exam: Exam) -> HL7Field {
        HL7Field(components: [exam.accessionNumber, application])
    }

    func header(_ type: [String], to receiver: HL7Application, _ control: String, _ now: Timestamp) -> HL7Segment {
        var msh = HL7Segment(id: "MSH")
        msh[3] = HL7Field(application)
        msh[4] = HL7Field(facility)
        msh[5] = HL7Field(receiver.application)
        msh[6] = HL7Field(receiver.facility)
        msh[7] = HL7Field(HL7Time.dateTime(now, utcOffsetMinutes: utcOffsetMinutes).format())
        msh[9] = HL7Field(components: type)
        msh[10] = HL7Field(control)
        msh[11] = "P"
        msh[12] = "2.5.1"
        msh[15] = "AL"
        msh[16] = "NE"
        msh[18] = "UNICODE UTF-8"
        return msh
    }

    /// The patient as a PID: every identifier in its domain (`HL7Domains`), the name, birth date and sex.
    static func pid(_ patient: Patient) -> HL7Segment {
        HL7Domains.pid(patient.identifiers, demographics: patient, setID: 1)
    }

    private func enqueue(
        _ db: any StoreWriter, _ segments: [HL7Segment], to receiver: HL7Application, kind: String, exam: Exam,
        now: Timestamp
    ) throws {
        let bytes = try HL7Message(segments: segments).encoded()
        _ = try db.enqueue(
            destination: Destination.hl7(applicationId: receiver.id).description, kind: kind, subject: exam.id,
            contentType: Self.contentType, body: Data(bytes), policy: policy, now: now, signal: signal)
    }
}
