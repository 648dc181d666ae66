import Crypto
import Foundation
import HL7
import HubConfig
import HubCore
import HubStorage
import Logging
import Metrics
import Synchronization

/// The messages laboratory and hospital systems send over MLLP, each answered with an acknowledgement:
/// - ORU^R01 (v2.3.1 to v2.5.1): each OBR with its OBX lines becomes results through the registry's own path
///   (`ResultRegistrar`: validation, catalog mapping, recognition metadata), in one transaction per message;
/// - ADT^A01, A04, A08, A28, A31: the patient's identifiers are linked in the patient index; ADT^A40 merges the
///   person of the prior identifiers (MRG-1) into the patient's;
/// - QBP^Q23 and QBP^Q22, IHE's PIX and PDQ queries, from any registered application: answered with RSP^K23 and
///   RSP^K22 (`HL7Queries.swift`).
///
/// Every message gets an ACK: AA when it was taken whole, AE with one ERR per problem (naming the segment, field
/// and repetition) when it was refused for its content, AR when it cannot be taken at all (an unknown sender, an
/// unsupported type, version or processing id). A refused message changes nothing. A message sent again with the
/// same control id (MSH-10) by the same application changes nothing and gets the same ACK, byte for byte.
public struct HL7Inbound: Sendable {
    let database: any Storage
    let senders: HL7Applications
    let catalog: CatalogInForce
    let patientKeys: PatientKeys
    let clock: @Sendable () -> Timestamp
    let utcOffsetMinutes: Int
    let application: String
    let facility: String
    let logger: Logger
    let patientQueries: PatientQueries

    static let messages = Counter(label: "hub.hl7.messages")
    static let refused = Counter(label: "hub.hl7.refused")

    public init(_ env: HubEnvironment) {
        database = env.database
        senders = HL7Applications(env)
        catalog = CatalogInForce(env)
        patientKeys = env.patientKeys
        clock = env.clock
        utcOffsetMinutes = env.config.utcOffsetMinutes
        application = env.config.hl7Application
        facility = env.config.hl7Facility
        logger = env.logger
        patientQueries = PatientQueries(env)
    }

    /// The versions whose ORU^R01 and ADT the hub reads.
    static let versions: Set<String> = ["2.3", "2.3.1", "2.4", "2.5", "2.5.1"]

    /// A problem with a message, as an ERR segment will report it.
    struct Problem: Error {
        var code: HL7ErrorCode
        var location: HL7ErrorLocation?
        var message: String
        /// True when the message cannot be taken at all (AR), not only refused for its content (AE).
        var rejects = false
    }

    /// The problems that refuse a message.
    struct Problems: Error {
        var all: [Problem]
    }

    /// One connection of the door: where it comes from, and the senders already known on it. As a DIMSE association
    /// is checked once, a sender is looked up (and its host resolved) at its first message on a connection, not at
    /// every one; a change to its registration applies from its next connection.
    public struct Connection: Sendable {
        let address: String
        let hostAddresses: @Sendable (String) async -> Set<String>
        var senders: [String: HL7Application] = [:]

        public init(address: String, hostAddresses: @escaping @Sendable (String) async -> Set<String>) {
            self.address = address
            self.hostAddresses = hostAddresses
        }
    }

    /// The acknowledgement of one framed message that arrived on `connection`.
    public func answer(_ bytes: [UInt8], on connection: inout Connection) async -> [UInt8] {
        let address = connection.address
        Self.messages.increment()
        let now = clock()
        guard let header = HL7MessageHeader.scan(bytes) else {
            // Not even the delimiters can be read: answered with a bare header so that the sender learns why.
            Self.refused.increment()
            return acknowledge(
                HL7MessageHeader(), .reject,
                [Problem(code: .segmentSequenceError, message: "the message does not start with an MSH segment")],
                now: now)
        }
        let sendingApplication = header.sendingApplication.value() ?? ""
        let sendingFacility = header.sendingFacility.value() ?? ""
        let sender: HL7Application
        do {
            let known = "\(sendingApplication)|\(sendingFacility)"
            if let cached = connection.senders[known] {
                sender = cached
            } else {
                sender = try await senders.sender(
                    application: sendingApplication, facility: sendingFacility, address: address,
                    hostAddresses: connection.hostAddresses)
                connection.senders[known] = sender
            }
        } catch let refusal as HL7Applications.Refusal {
            Self.refused.increment()
            logger.notice(
                "HL7 message refused", metadata: ["hub.hl7.reason": "\(refusal.reason)", "hub.peer": "\(address)"])
            return acknowledge(
                header, .reject,
                [
                    Problem(
                        code: .unknownKeyIdentifier, location: HL7ErrorLocation(segmentID: "MSH", field: 3),
                        message: refusal.reason)
                ], now: now)
        } catch {
            return acknowledge(
                header, .reject,
                [Problem(code: .applicationInternalError, message: "the hub could not look up the sender")],
                now: now)
        }
        guard let controlID = header.controlID else {
            return acknowledge(
                header, .reject,
                [
                    Problem(
                        code: .requiredFieldMissing, location: HL7ErrorLocation(segmentID: "MSH", field: 10),
                        message: "MSH-10: the message control id is required")
                ], now: now)
        }
        let digest = Self.digest(bytes)
        Self.forgetOldAnswersNow(database, now: now)
        let answer: [UInt8]
        do {
            answer = try await take(
                bytes, header: header, from: sender, controlID: controlID, digest: digest, now: now)
        } catch let problems as Problems {
            // A refused message changed nothing and is not remembered: sent again once its sender or the hub's
            // registration is put right (a code map, say), it is taken.
            Self.refused.increment()
            let rejects = problems.all.contains(where: \.rejects)
            answer = acknowledge(header, rejects ? .reject : .error, problems.all, now: now)
        } catch {
            logger.error(
                "HL7 message not stored",
                metadata: [
                    "hub.error": "\(error)", "hub.hl7.sender": "\(sender.id)", "hub.hl7.control_id": "\(controlID)",
                ]
            )
            // Not the message's fault: AR, which a sender's interface engine sends again.
            answer = acknowledge(
                header, .reject,
                [
                    Problem(
                        code: .applicationInternalError, message: "the hub could not store the message; send it again")
                ],
                now: now)
        }
        return answer
    }

    /// The answer to a control id the sender used before: the same answer when the message is the same one sent
    /// again, an AE (205) when it is another message under a used control id, which would otherwise be lost.
    private func replay(
        _ earlier: (answer: [UInt8], digest: String), digest: String, header: HL7MessageHeader, controlID: String,
        now: Timestamp
    ) -> [UInt8] {
        // A row from before digests were kept (empty) cannot tell: answered as another message, which the sender
        // looks into, rather than as the same one, which would drop a new message silently.
        if earlier.digest == digest { return earlier.answer }
        Self.refused.increment()
        return acknowledge(
            header, .error,
            [
                Problem(
                    code: .duplicateKeyIdentifier, location: HL7ErrorLocation(segmentID: "MSH", field: 10),
                    message:
                        "MSH-10: control id \(controlID) was taken by another message of this application; a new message takes a new control id"
                )
            ], now: now)
    }

    /// How long the answer to a message is kept for a sender that sends it again.
    public static let answersKept: Int64 = 7 * 24 * 3600 * 1000
    /// Messages between two purges of old answers on a hub that runs for long (the start purges too).
    static let purgeEvery = 10_000
    static let taken = Atomic<Int>(0)

    /// Every `purgeEvery` messages, forgets the answers older than `answersKept`, in a write of its own.
    static func forgetOldAnswersNow(_ database: any Storage, now: Timestamp) {
        guard taken.wrappingAdd(1, ordering: .relaxed).newValue % purgeEvery == 0 else { return }
        Task {
            _ = try? await database.write { try $0.forgetHL7Answers(before: now.adding(milliseconds: -answersKept)) }
        }
    }

    /// What a message says, for telling a message sent again from another under the same control id: its segments
    /// (however they are ended: `\r`, `\n` or both, as tools that send files do), without the header's date and time
    /// (MSH-7), which a sender may stamp anew when it sends again.
    static func digest(_ bytes: [UInt8]) -> String {
        var hash = SHA256()
        let segments = bytes.split(whereSeparator: { $0 == 0x0D || $0 == 0x0A })
        for (index, segment) in segments.enumerated() {
            if index == 0, segment.count > 4 {
                // MSH|^~\&|3|4|5|6|7|...: the field separator is the fourth byte; MSH-7 is the sixth field after it.
                let separator = segment[segment.startIndex + 3]
                let bounds = segment.indices.filter { segment[$0] == separator }
                if bounds.count > 6 {
                    hash.update(data: segment[..<bounds[5]])
                    hash.update(data: segment[bounds[6]...])
                } else {
                    hash.update(data: segment)
                }
            } else {
                hash.update(data: segment)
            }
            hash.update(data: [0x0D])
        }
        return hash.finalize().withUnsafeBytes(Hex.encode)
    }

    /// The AR of a message longer than `hl7.max_message_bytes`, which the door did not keep.
    public func tooLong(limit: Int) -> [UInt8] {
        Self.refused.increment()
        return acknowledge(
            HL7MessageHeader(), .reject,
            [Problem(code: .applicationInternalError, message: "the message is longer than \(limit) bytes")],
            now: clock())
    }

    /// Parses and takes a message of a known sender; answers its AA, stored in the same transaction as its effects.
    private func take(
        _ bytes: [UInt8], header: HL7MessageHeader, from sender: HL7Application, controlID: String, digest: String,
        now: Timestamp
    ) async throws -> [UInt8] {
        let message: HL7Message
        do {
            message = try HL7Message.parse(bytes)
        } catch {
            throw Problems(all: [Self.parseProblem(error)])
        }
        try checkHeader(message)
        let source = "hl7:\(sender.id):\(controlID)"
        let caller = Caller(principal: sender.principal, remoteAddress: nil, requestId: source)
        let type = "\(message.type ?? "")^\(message.event ?? "")"
        switch type {
        case "ORU^R01":
            guard sender.kind == .lis else { throw Self.unsupported(type, for: sender) }
            return try await results(
                message, sender: sender, caller: caller, source: source, digest: digest, now: now)
        case "ADT^A01", "ADT^A04", "ADT^A08", "ADT^A28", "ADT^A31", "ADT^A40":
            guard sender.kind == .his else { throw Self.unsupported(type, for: sender) }
            return try await patient(
                message, sender: sender, caller: caller, source: source, digest: digest, now: now)
        case "QBP^Q23", "QBP^Q22":
            // A question, not a change: answered anew each time, and not remembered.
            return try await query(message, sender: sender, caller: caller, now: now)
        default:
            let known = ["ORU", "ADT", "QBP"].contains(message.type ?? "")
            throw Problems(all: [
                Problem(
                    code: known ? .unsupportedEventCode : .unsupportedMessageType,
                    location: HL7ErrorLocation(segmentID: "MSH", field: 9),
                    message:
                        "MSH-9: \(type) is not a message the hub takes (ORU^R01, ADT^A01/A04/A08/A28/A31/A40, QBP^Q22/Q23)",
                    rejects: true)
            ])
        }
    }

    static func unsupported(_ type: String, for sender: HL7Application) -> Problems {
        Problems(all: [
            Problem(
                code: .unsupportedMessageType, location: HL7ErrorLocation(segmentID: "MSH", field: 9),
                message: "MSH-9: an application registered as \(sender.kind.rawValue) does not send \(type)",
                rejects: true)
        ])
    }

    /// The version and processing id the hub reads: production messages of v2.3 to v2.5.1.
    private func checkHeader(_ message: HL7Message) throws {
        guard let version = message.version, Self.versions.contains(version) else {
            throw Problems(all: [
                Problem(
                    code: .unsupportedVersionID, location: HL7ErrorLocation(segmentID: "MSH", field: 12),
                    message: "MSH-12: version \(message.version ?? "(none)") is not one the hub reads (2.3 to 2.5.1)",
                    rejects: true)
            ])
        }
        guard message.processingID == "P" else {
            throw Problems(all: [
                Problem(
                    code: .unsupportedProcessingID, location: HL7ErrorLocation(segmentID: "MSH", field: 11),
                    message:
                        "MSH-11: processing id \(message.processingID ?? "(none)") is not P; the hub takes production messages only",
                    rejects: true)
            ])
        }
    }

    static func parseProblem(_ error: HL7ParseError) -> Problem {
        switch error {
        case .unknownCharacterSet(let name):
            return Problem(
                code: .tableValueNotFound, location: HL7ErrorLocation(segmentID: "MSH", field: 18),
                message: "MSH-18: character set '\(name)' is not one the hub reads (UNICODE UTF-8, GB 18030, ASCII)",
                rejects: true)
        case .invalidText(let set):
            return Problem(
                code: .dataTypeError, location: HL7ErrorLocation(segmentID: "MSH", field: 18),
                message: "the message is not valid \(set.declaration) text", rejects: true)
        default:
            return Problem(code: .segmentSequenceError, message: "the message cannot be read: \(error)", rejects: true)
        }
    }

    // MARK: Results

    /// One patient of an ORU^R01 (its PATIENT_RESULT group): the PID and the orders that follow it.
    struct PatientResults {
        var pid: HL7Segment
        var sequence: Int
        var orders: [HL7ResultOrder]
    }

    /// One ORU^R01: the results of every OBR of every patient, registered, corrected or withdrawn in one transaction.
    private func results(
        _ message: HL7Message, sender: HL7Application, caller: Caller, source: String, digest: String,
        now: Timestamp
    ) async throws -> [UInt8] {
        let groups = try Self.patientGroups(message)
        // Every problem of the message is reported at once: those of each patient, and those of each order.
        var readProblems: [Problem] = []
        var patients: [(group: PatientResults, patient: Patient)] = []
        for group in groups {
            do {
                patients.append(
                    (
                        group,
                        try HL7Patient.read(
                            group.pid, sequence: group.sequence, sender: HL7Patient.Sender(sender),
                            utcOffsetMinutes: utcOffsetMinutes)
                    ))
            } catch let problems as Problems {
                readProblems += problems.all
            }
        }
        let (catalog, patientKeys, offset, known, patientProblems) = (
            catalog, patientKeys, utcOffsetMinutes, patients, readProblems
        )
        let allRead = readProblems.isEmpty
        let header = HL7MessageHeader(message)
        return try await database.write { db -> [UInt8] in
            // A message sent again (or at the same moment on another connection) is answered as it was, in the
            // transaction that would otherwise take it a second time.
            if let earlier = try db.hl7Answer(applicationId: sender.id, controlId: message.controlID ?? "") {
                return replay(earlier, digest: digest, header: header, controlID: message.controlID ?? "", now: now)
            }
            let registrar = try ResultRegistrar(
                catalog: catalog, patientKeys: patientKeys, db: db, caller: sender.principal, now: now)
            let codeMap = try db.codeMap(institutionId: sender.institutionId)
            let item = { (code: String, system: String?) in
                registrar.catalogItem(code)
                    ?? codeMap?.itemCode(code: code, system: system).flatMap(registrar.catalogItem)
            }
            var problems = patientProblems
            var planned: [(order: HL7ResultOrder.Planned, storable: StorableResult?)] = []
            // The orders of a patient whose PID cannot be read are still checked, so that one answer names all.
            let checked: [(orders: [HL7ResultOrder], patient: Patient)] =
                allRead
                ? known.map { ($0.group.orders, $0.patient) } : groups.map { ($0.orders, Patient(identifiers: [])) }
            for (orders, patient) in checked {
                for order in orders {
                    do {
                        for plan in try order.plan(patient: patient, utcOffsetMinutes: offset, item: item) where allRead
                        {
                            if plan.withdraws {
                                planned.append((plan, nil))
                                continue
                            }
                            do {
                                planned.append((plan, try registrar.prepare(plan.input)))
                            } catch let error as HubError {
                                problems += plan.problems(for: error)
                            }
                        }
                    } catch let more as Problems {
                        problems += more.all
                    }
                }
            }
            if !problems.isEmpty { throw Problems(all: problems) }
            var ids: [String] = []
            let linker = PatientLinker(keys: patientKeys)
            for (plan, storable) in planned {
                do {
                    if let id = try store(
                        plan, storable, sender: sender, linker: linker, caller: caller, source: source, in: db,
                        now: now)
                    {
                        ids.append(id)
                    }
                } catch let problem as Problem {
                    problems.append(problem)
                }
            }
            if !problems.isEmpty { throw Problems(all: problems) }
            try db.appendAudit(
                caller.audit(
                    "hl7.oru", "hl7_message", source,
                    patientKey: known.first.flatMap { patientKeys.keys(for: $0.patient).first },
                    detail: "results=\(ids.joined(separator: ","))"),
                at: now)
            let answer = acknowledge(header, .accept, [], text: "results \(ids.joined(separator: " "))", now: now)
            try db.saveHL7Answer(
                applicationId: sender.id, controlId: message.controlID ?? "", digest: digest, answer: answer, at: now)
            return answer
        }
    }

    /// Registers, replaces or withdraws one planned result; its id, or a problem when the order's earlier result
    /// does not allow it. An order's result for an item is replaced only by one for the same patient: by a correction
    /// (C), by the final result of a preliminary one (P to F), by a newer preliminary one, or withdrawn (W, D). A
    /// final result sent again unchanged changes nothing; a withdrawn result stays withdrawn.
    private func store(
        _ plan: HL7ResultOrder.Planned, _ storable: StorableResult?, sender: HL7Application, linker: PatientLinker,
        caller: Caller, source: String, in db: any StoreWriter, now: Timestamp
    ) throws -> String? {
        let itemCode = plan.input.itemCode ?? ""
        let earlier = try plan.order.flatMap {
            try db.hl7Result(institutionId: sender.institutionId, order: $0, itemCode: itemCode)
        }.flatMap { try db.result(id: $0) }
        let order = plan.order ?? "(none)"
        func refuse(_ location: HL7ErrorLocation, _ code: HL7ErrorCode, _ text: String) -> Problem {
            Problem(code: code, location: location, message: "\(location.label): \(text)")
        }
        // A withdrawn result stays withdrawn; the order's next result (the right patient's, after a result sent for
        // the wrong one was withdrawn) is a new result of its own, whoever it is for.
        let current = earlier?.reportStatus == .enteredInError ? nil : earlier
        if let current,
            !Self.samePatient(current.patient, plan.input.patient ?? Patient(identifiers: []), keys: patientKeys)
        {
            throw refuse(
                plan.patientLocation, .duplicateKeyIdentifier,
                "order \(order) registered \(itemCode) for another patient; a reused order number does not replace another patient's result"
            )
        }
        guard let storable else {
            // W or D: the value sent before was wrong; X: it cannot be obtained after all.
            guard let earlier = current else {
                if plan.withdrawalOptional || earlier != nil { return earlier?.id }
                throw refuse(
                    plan.statusLocation, .unknownKeyIdentifier,
                    "withdraws a result of order \(order) for \(itemCode) that the hub does not hold")
            }
            var withdrawn = earlier
            withdrawn.reportVersion = earlier.reportVersion + 1
            withdrawn.reportStatus = .enteredInError
            withdrawn.createdAt = now
            try db.supersede(old: earlier, new: StorableResult(withdrawn, keys: patientKeys), now: now)
            return earlier.id
        }
        if earlier != nil && current == nil && plan.corrects {
            throw refuse(
                plan.statusLocation, .applicationRecordLocked,
                "the result of order \(order) for \(itemCode) was withdrawn; a withdrawn result is not corrected")
        }
        guard let earlier = current else {
            if plan.corrects {
                throw refuse(
                    plan.statusLocation, .unknownKeyIdentifier,
                    "a corrected result (C) of order \(order) for \(itemCode) that the hub does not hold")
            }
            try linker.insert(storable, source: source, caller: caller, in: db, now: now)
            if let order = plan.order {
                try db.saveHL7Result(
                    institutionId: sender.institutionId, order: order, itemCode: itemCode,
                    resultId: storable.record.id)
            }
            return storable.record.id
        }
        let next = storable.record
        switch (earlier.reportStatus, next.reportStatus) {
        case (_, .corrected), (.preliminary, _):
            break
        case (_, .preliminary):
            throw refuse(
                plan.statusLocation, .applicationRecordLocked,
                "order \(order) already has a final result for \(itemCode); a preliminary one does not replace it")
        default:
            // A final result again: the same one sent twice changes nothing; another is a correction, sent as C.
            guard Self.sameContent(earlier, next) else {
                throw refuse(
                    plan.statusLocation, .applicationRecordLocked,
                    "order \(order) already has a final result for \(itemCode); a change to it is sent as corrected (C)"
                )
            }
            return earlier.id
        }
        var replacement = next
        replacement.id = earlier.id
        replacement.reportVersion = earlier.reportVersion + 1
        try db.supersede(old: earlier, new: StorableResult(replacement, keys: patientKeys), now: now)
        try linker.link(replacement.patient, source: source, caller: caller, in: db, now: now)
        return earlier.id
    }

    /// True when two records of an order are of one patient: they share an identifier, and neither names a resident
    /// ID the other contradicts.
    static func samePatient(_ a: Patient, _ b: Patient, keys: PatientKeys) -> Bool {
        // A placeholder value (a record number of 0 for anyone unknown) says nothing about who the patient is.
        func named(_ patient: Patient) -> Set<String> {
            Set(patient.identifiers.filter { !IdentifierRules.isPlaceholder($0.value) }.map(keys.key(for:)))
        }
        guard !named(a).isDisjoint(with: named(b)) else { return false }
        for system in IdentifierRules.onePerPerson {
            let values = Set((a.identifiers + b.identifiers).filter { $0.system == system }.map(\.value))
            if values.count > 1 { return false }
        }
        return true
    }

    /// True when a result sent again says what the stored one says.
    static func sameContent(_ stored: ResultRecord, _ sent: ResultRecord) -> Bool {
        stored.itemCode == sent.itemCode && stored.performedAt == sent.performedAt && stored.values == sent.values
            && stored.findings == sent.findings && stored.conclusion == sent.conclusion
    }

    /// The patients of a message with the orders that follow each PID (an ORU^R01 repeats its PATIENT_RESULT group);
    /// an order before any PID, or a message without one, refuses the message.
    static func patientGroups(_ message: HL7Message) throws -> [PatientResults] {
        var groups: [PatientResults] = []
        var problems: [Problem] = []
        var pidCount = 0
        var obrCount = 0
        var obxCount = 0
        var orc: HL7Segment?
        // The OBX lines of a specimen (v2.5's SPM group) describe the specimen, not results of the order.
        var inSpecimen = false
        for segment in message.segments {
            switch segment.id {
            case "PID":
                pidCount += 1
                groups.append(PatientResults(pid: segment, sequence: pidCount, orders: []))
                orc = nil
                inSpecimen = false
            case "ORC":
                orc = segment
            case "SPM":
                inSpecimen = true
            case "OBR":
                inSpecimen = false
                obrCount += 1
                guard !groups.isEmpty else {
                    problems.append(
                        Problem(
                            code: .segmentSequenceError,
                            location: HL7ErrorLocation(segmentID: "OBR", segmentSequence: obrCount),
                            message: "OBR(\(obrCount)): an order follows the PID of its patient"))
                    continue
                }
                groups[groups.count - 1].orders.append(
                    HL7ResultOrder(obr: segment, sequence: obrCount, orc: orc, observations: [], pidSequence: pidCount))
                // An ORC is the common order of the OBR that follows it, not of later ones.
                orc = nil
            case "OBX":
                obxCount += 1
                if !inSpecimen, let last = groups.indices.last, !groups[last].orders.isEmpty {
                    groups[last].orders[groups[last].orders.count - 1].observations.append((segment, obxCount))
                }
            default:
                break
            }
        }
        if groups.isEmpty {
            problems.append(Problem(code: .segmentSequenceError, message: "the message has no PID segment"))
        }
        if groups.allSatisfy(\.orders.isEmpty) && problems.isEmpty {
            problems.append(
                Problem(code: .segmentSequenceError, message: "an ORU^R01 carries at least one OBR with its OBX lines"))
        }
        if !problems.isEmpty { throw Problems(all: problems) }
        return groups
    }

    static func required(_ message: HL7Message, _ id: String) throws -> HL7Segment {
        guard let segment = message.segment(named: id) else {
            throw Problems(all: [
                Problem(code: .segmentSequenceError, message: "the message has no \(id) segment", rejects: false)
            ])
        }
        return segment
    }

    // MARK: Patient administration

    /// One ADT message: the patient's identifiers linked (A01, A04, A08, A28, A31), or the prior patient's person
    /// merged into the patient's (A40).
    private func patient(
        _ message: HL7Message, sender: HL7Application, caller: Caller, source: String, digest: String,
        now: Timestamp
    ) async throws -> [UInt8] {
        let pid = try Self.required(message, "PID")
        let from = HL7Patient.Sender(sender)
        let patient = try HL7Patient.read(pid, sender: from, utcOffsetMinutes: utcOffsetMinutes)
        let prior: Patient? =
            message.event == "A40"
            ? try HL7Patient.identifiers(try Self.required(message, "MRG")[1], segment: "MRG", field: 1, sender: from)
            : nil
        let patientKeys = patientKeys
        let header = HL7MessageHeader(message)
        return try await database.write { db -> [UInt8] in
            if let earlier = try db.hl7Answer(applicationId: sender.id, controlId: message.controlID ?? "") {
                return replay(earlier, digest: digest, header: header, controlID: message.controlID ?? "", now: now)
            }
            let linker = PatientLinker(keys: patientKeys)
            try linker.link(patient, source: source, caller: caller, in: db, now: now)
            var text = "linked"
            if let prior {
                try linker.link(prior, source: source, caller: caller, in: db, now: now)
                func person(of patient: Patient) throws -> String? {
                    let keys = patient.identifiers.filter { !IdentifierRules.isPlaceholder($0.value) }.map(
                        patientKeys.key(for:))
                    return try db.persons(ofKeys: keys).values.sorted().first
                }
                guard let survivor = try person(of: patient), let merged = try person(of: prior) else {
                    throw Problems(all: [
                        Problem(
                            code: .unknownKeyIdentifier, location: HL7ErrorLocation(segmentID: "MRG", field: 1),
                            message: "MRG-1: the identifiers name no one the hub can merge (placeholder values)")
                    ])
                }
                if survivor != merged,
                    try db.anySeparation(
                        among: (try db.personMembers(id: survivor) + db.personMembers(id: merged)).map(\.key))
                {
                    // A person said these are different people: the merge is put before a person, not made.
                    let review = try linker.askAbout(
                        [survivor, merged], "an ADT^A40 merges persons a person said are different people",
                        source: source, caller: caller, in: db, now: now)
                    text = "merge put before a person: review \(review)"
                } else if survivor != merged {
                    do {
                        _ = try PatientIndex.merge(survivor, merged, caller: caller, in: db, now: now)
                    } catch let error as HubError where error.kind == .conflict {
                        throw Problems(all: [
                            Problem(
                                code: .applicationRecordLocked, location: HL7ErrorLocation(segmentID: "MRG", field: 1),
                                message: "MRG-1: \(error.detail)")
                        ])
                    }
                    text = "merged"
                } else {
                    text = "merged"
                }
            }
            try db.appendAudit(
                caller.audit(
                    "hl7.adt", "hl7_message", source, patientKey: patientKeys.keys(for: patient).first,
                    detail: "event=\(message.event ?? "")"),
                at: now)
            let answer = acknowledge(header, .accept, [], text: text, now: now)
            try db.saveHL7Answer(
                applicationId: sender.id, controlId: message.controlID ?? "", digest: digest, answer: answer, at: now)
            return answer
        }
    }

    // MARK: Acknowledgements

    /// The acknowledgement of a message, not yet written (a query's answer adds its segments to it).
    func acknowledgement(
        _ header: HL7MessageHeader, _ code: HL7Acknowledgement.Code, _ problems: [Problem], text: String? = nil,
        now: Timestamp
    ) -> HL7Acknowledgement {
        let time = HL7Time.dateTime(now, utcOffsetMinutes: utcOffsetMinutes)
        let errors = problems.map {
            HL7ErrorReport(code: $0.code, severity: .error, location: $0.location, userMessage: $0.message)
        }
        return HL7Acknowledgement(
            responding: header, code: code, text: text ?? problems.first?.message, application: HL7Field(application),
            facility: HL7Field(facility), controlID: GeneratedID.make("ack", at: now), timestamp: time, errors: errors)
    }

    func acknowledge(
        _ header: HL7MessageHeader, _ code: HL7Acknowledgement.Code, _ problems: [Problem], text: String? = nil,
        now: Timestamp
    ) -> [UInt8] {
        let acknowledgement = acknowledgement(header, code, problems, text: text, now: now)
        if let bytes = try? acknowledgement.encoded() { return bytes }
        // The sender declared ASCII and a text is not: the same answer with ASCII text only.
        var ascii = acknowledgement
        ascii.text = ascii.text.map(Self.asciiOnly)
        ascii.errors = ascii.errors.map {
            var report = $0
            report.userMessage = report.userMessage.map(Self.asciiOnly)
            return report
        }
        return (try? ascii.encoded()) ?? []
    }

    static func asciiOnly(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.isASCII ? $0 : "?" }))
    }
}

extension HL7ErrorLocation {
    /// `PID-3`, `OBX(2)-5`: how a person names the place.
    var label: String {
        let segment = segmentSequence > 1 ? "\(segmentID)(\(segmentSequence))" : segmentID
        guard let field else { return segment }
        return fieldRepetition.map { "\(segment)-\(field)[\($0)]" } ?? "\(segment)-\(field)"
    }
}
