import Crypto
import Foundation
import HubCore

// What the use cases ask of the store, by area: a protocol of reads and one of writes for each. `StoreReader` and
// `StoreWriter` (Storage.swift) gather them.

/// Member institutions, their practitioners and the shared centers they host.
public protocol RegistryReads {
    func institution(id: String) throws -> Institution?

    /// Filters are optional; `alliance` matches any institution that belongs to it.
    func institutions(
        level: InstitutionLevel?, region: String?, alliance: String?, status: RecordStatus?, after cursor: String?,
        limit: Int
    ) throws -> Page<Institution>

    func practitioner(id: String) throws -> Practitioner?

    func practitioners(institutionId: String, after cursor: String?, limit: Int) throws -> Page<Practitioner>

    func center(id: String) throws -> Center?

    func centers(
        kind: CenterKind?, item: String?, institutionId: String?, status: RecordStatus?, after cursor: String?,
        limit: Int
    ) throws -> Page<Center>
}

/// Member institutions, their practitioners and the shared centers they host. What a write may change.
public protocol RegistryWrites: RegistryReads {
    func insert(_ institution: Institution) throws

    func update(_ institution: Institution) throws

    func insert(_ practitioner: Practitioner) throws

    func update(_ practitioner: Practitioner) throws

    func insert(_ center: Center) throws

    func update(_ center: Center) throws
}

extension RegistryReads {
    public func institutions(
        level: InstitutionLevel? = nil, region: String? = nil, alliance: String? = nil, status: RecordStatus? = nil,
        after cursor: String?, limit: Int
    ) throws -> Page<Institution> {
        try institutions(level: level, region: region, alliance: alliance, status: status, after: cursor, limit: limit)
    }

    public func centers(
        kind: CenterKind? = nil, item: String? = nil, institutionId: String? = nil, status: RecordStatus? = nil,
        after cursor: String?, limit: Int
    ) throws -> Page<Center> {
        try centers(kind: kind, item: item, institutionId: institutionId, status: status, after: cursor, limit: limit)
    }
}

/// Bearer tokens: issuing, resolving and revoking them.
public protocol TokenReads {
    /// The principal behind a secret, or nil when the token is unknown, revoked, or its practitioner or
    /// institution is suspended. Its roles are those the token was issued with that the practitioner still holds:
    /// a practitioner's roles narrowed later narrow every token they hold. An expired token still resolves (with its
    /// `expiresAt`), so the caller can say why it is refused.
    func resolveToken(secret: String) throws -> Principal?

    /// The token whose secret is `secret`, revoked or not.
    func token(secret: String) throws -> TokenRecord?

    func token(id: String) throws -> TokenRecord?

    func tokens(practitionerId: String) throws -> [TokenRecord]

    /// True when some token that is neither revoked nor expired at `now` carries the admin role (bootstrap creates
    /// one only when none does).
    func hasActiveAdmin(now: Timestamp) throws -> Bool
}

/// Bearer tokens: issuing, resolving and revoking them. What a write may change.
public protocol TokenWrites: TokenReads {
    /// Stores a new token and returns it with its secret, which is shown once and never again. `lifetimeDays` nil
    /// issues a token without expiry.
    func issueToken(
        practitionerId: String?, institutionId: String?, roles: [Role], label: String?, createdBy: String?,
        lifetimeDays: Int?, now: Timestamp
    ) throws -> (TokenRecord, secret: String)

    /// Marks a token revoked; revoking twice keeps the first time.
    func revokeToken(id: String, now: Timestamp) throws
}

/// Exams of the remote-reading workflow and their attachments.
public protocol ExamReads {
    func exam(id: String) throws -> Exam?

    /// The exam received from `hubId` for its exam `examId`.
    func exam(originHub hubId: String, originExamId examId: String) throws -> Exam?

    func exam(accessionNumber: String) throws -> Exam?

    /// A center's worklist: waiting work and work whose claim has lapsed, most urgent first, then longest waiting.
    func worklist(centerId: String, now: Timestamp, limit: Int) throws -> [Exam]

    /// A clinic's exams that wait for their images (its modality worklist): submitted and not yet read, of an item a
    /// modality performs (not a laboratory test), with no study attached, oldest first.
    func awaitingImages(clinicId: String, limit: Int) throws -> [Exam]

    /// Open work of the given centers, for routing by load: the counts the `exams` triggers keep.
    func openWork(centerIds: [String]) throws -> [String: Int]

    /// Exams visible through the filters, newest id last.
    func exams(
        clinicId: String?, centerIds: [String]?, step: ExamStep?, patientKeys: [String]?, after cursor: String?,
        limit: Int
    ) throws -> Page<Exam>

    /// Open exams past a point in time, for turnaround checks.
    /// Centers with open work, from the counts the `exams` triggers keep.
    func centersWithOpenWork() throws -> [String]

    /// Open exams of a center and priority submitted at or before `submittedBy` and not yet marked overdue: one range
    /// of the worklist index, whatever the size of the open work.
    func overdueCandidates(centerId: String, priority: Priority, submittedBy: Timestamp) throws -> [Exam]

    /// Exams of a center submitted in a period, for turnaround statistics.
    func exams(centerId: String, from: Timestamp, to: Timestamp) throws -> [Exam]

    func attachments(examId: String) throws -> [Attachment]

    func attachment(examId: String, sha256: String) throws -> Attachment?
}

/// Exams of the remote-reading workflow and their attachments. What a write may change.
public protocol ExamWrites: ExamReads {
    func insert(_ exam: Exam, patientKeys: [String]) throws

    func update(_ exam: Exam) throws

    @discardableResult

    func attach(_ attachment: Attachment) throws -> Bool
}

extension ExamReads {
    public func exams(
        clinicId: String? = nil, centerIds: [String]? = nil, step: ExamStep? = nil, patientKeys: [String]? = nil,
        after cursor: String?, limit: Int
    ) throws -> Page<Exam> {
        try exams(
            clinicId: clinicId, centerIds: centerIds, step: step, patientKeys: patientKeys, after: cursor, limit: limit)
    }
}

/// Critical-value notices and their acknowledgement.
public protocol CriticalValueReads {
    func notice(id: String) throws -> CriticalValueNotice?

    /// Notices for a clinic or for centers, optionally only the unacknowledged ones.
    func notices(
        clinicId: String?, centerIds: [String]?, examId: String?, acknowledged: Bool?, after cursor: String?, limit: Int
    ) throws -> Page<CriticalValueNotice>

    /// Unacknowledged, not yet escalated notices past their deadline.
    /// Unacknowledged notices past due that this hub escalates: not those of exams received from a peer hub, whose
    /// clinic is notified, and escalated, by that hub.
    func overdueNotices(now: Timestamp) throws -> [CriticalValueNotice]
}

/// Critical-value notices and their acknowledgement. What a write may change.
public protocol CriticalValueWrites: CriticalValueReads {
    func insert(_ notice: CriticalValueNotice) throws

    func update(_ notice: CriticalValueNotice) throws
}

extension CriticalValueReads {
    public func notices(
        clinicId: String?, centerIds: [String]?, examId: String? = nil, acknowledged: Bool?, after cursor: String?,
        limit: Int
    ) throws -> Page<CriticalValueNotice> {
        try notices(
            clinicId: clinicId, centerIds: centerIds, examId: examId, acknowledged: acknowledged, after: cursor,
            limit: limit)
    }
}

/// The result registry.
public protocol ResultReads {
    func result(id: String) throws -> ResultRecord?

    /// Every current result filed under any of these keyed identifiers, latest performed first.
    func results(patientKeys: [String]) throws -> [ResultRecord]

    /// Every earlier version of a result, oldest first.
    func resultHistory(id: String) throws -> [ResultRecord]
}

/// The result registry. What a write may change.
public protocol ResultWrites: ResultReads {
    func insert(_ result: ResultRecord, patientKeys: [String]) throws

    func insert(_ result: StorableResult) throws

    func update(_ result: ResultRecord) throws

    /// Replaces a result with a new version, filed under the new version's patient keys, item and time; the version
    /// it replaces stays readable in the history.
    func supersede(old: ResultRecord, new: StorableResult, now: Timestamp) throws
}

/// Recognition checks, the decisions taken on them, and their statistics.
public protocol RecognitionReads {
    /// Results of a patient for an item, by any of the patient's keyed identifiers.
    func candidates(patientKeys: [String], itemCode: String) throws -> [ResultRecord]

    func recognitionCheck(id: String) throws -> RecognitionCheck?

    func decisions(checkId: String) throws -> [RecognitionDecision]

    func recognitionStats(_ f: StatsFilter) throws -> RecognitionStats
}

/// Recognition checks, the decisions taken on them, and their statistics. What a write may change.
public protocol RecognitionWrites: RecognitionReads {
    /// Stores a check. `body` is the check as `HubJSON` encodes it, when the caller already has it (it answers with
    /// the same bytes).
    func insert(_ check: RecognitionCheck, body: Data?) throws

    func insert(_ decision: RecognitionDecision) throws
}

extension RecognitionWrites {
    public func insert(_ check: RecognitionCheck, body: Data? = nil) throws {
        try insert(check, body: body)
    }
}

/// The index of stored DICOM instances (QIDO-RS, WADO-RS, attaching studies to exams).
public protocol DICOMIndexReads {
    /// The study's owner and exam, if it is stored.
    func study(uid: String) throws -> (owner: String, examId: String?)?

    /// QIDO-RS search at `level`, through the index only.
    /// `fullMetadata`: at instance level, answer with each instance's whole metadata instead of the default
    /// attributes.
    func search(
        level: DICOMStore.Level, matches: [(String, DICOMMatch)], access: DICOMAccess, limit: Int, offset: Int,
        fullMetadata: Bool
    ) throws -> [DICOMRow]

    /// The SOP class of each of the instances that is stored and visible through `access`, by SOP Instance UID
    /// (Storage Commitment).
    func storedClasses(sopInstanceUIDs: [String], access: DICOMAccess) throws -> [String: String]

    /// The instances of a study, a series or one instance the caller may read, in order.
    func instanceFiles(
        studyUID: String, seriesUID: String?, sopInstanceUID: String?, access: DICOMAccess
    ) throws -> [StoredInstanceFile]
}

/// The index of stored DICOM instances (QIDO-RS, WADO-RS, attaching studies to exams). What a write may change.
public protocol DICOMIndexWrites: DICOMIndexReads {
    /// Indexes one instance whose bytes are in the blob store (or kept in the database, by the caller, in the same
    /// transaction). A study belongs to the institution that stored its
    /// first instance, and to at most one exam.
    func index(_ instance: IndexedInstance, owner: String, examId: String?, now: Timestamp) throws -> DICOMStore.Outcome

    /// Attaches a pending study (stored without an exam) to an exam.
    func attach(studyUID: String, examId: String) throws
}

extension DICOMIndexReads {
    public func search(
        level: DICOMStore.Level, matches: [(String, DICOMMatch)], access: DICOMAccess, limit: Int, offset: Int,
        fullMetadata: Bool = false
    ) throws -> [DICOMRow] {
        try search(
            level: level, matches: matches, access: access, limit: limit, offset: offset, fullMetadata: fullMetadata)
    }

    public func instanceFiles(
        studyUID: String, seriesUID: String? = nil, sopInstanceUID: String? = nil, access: DICOMAccess
    ) throws -> [StoredInstanceFile] {
        try instanceFiles(studyUID: studyUID, seriesUID: seriesUID, sopInstanceUID: sopInstanceUID, access: access)
    }
}

/// Answers remembered for writes sent with an `Idempotency-Key`.
public protocol IdempotencyReads {
    /// The stored answer for `key`, nil when the key is new. The same key with another method, path or body is an
    /// error: the client reused a key for a different request.
    func idempotentAnswer(
        scope: String, key: String, method: String, path: String, bodyDigest: String
    ) throws -> IdempotencyStore.Replay?
}

/// Answers remembered for writes sent with an `Idempotency-Key`. What a write may change.
public protocol IdempotencyWrites: IdempotencyReads {
    func rememberAnswer(
        scope: String, key: String, method: String, path: String, bodyDigest: String, status: Int, body: Data,
        now: Timestamp) throws

    @discardableResult

    func purgeAnswers(now: Timestamp) throws -> Int
}

/// Small blobs kept beside the rows that refer to them.
public protocol InlineBlobReads {
    /// A blob's bytes, when it is kept in the database.
    func inlineBlob(sha256: String) throws -> [UInt8]?

    /// Where a blob's bytes are: in the database, or in the blob store's file (which may be missing).
    func blobContent(sha256: String, files: BlobStore) throws -> BlobContent

    /// The digests of the blobs the database refers to (attachments and stored DICOM instances) that are not kept in
    /// it, and so must be files in the blob store. Works on databases of any schema version.
    func blobFilesReferenced() throws -> Set<String>

    /// The digests of blobs kept in the database whose bytes no longer hash to them.
    func damagedInlineBlobs() throws -> [String]
}

/// Small blobs kept beside the rows that refer to them. What a write may change.
public protocol InlineBlobWrites: InlineBlobReads {
    /// Keeps a blob's bytes. The same digest is the same bytes, so a blob kept already is left alone, unless its bytes
    /// were damaged: storing it again repairs them.
    func insertInlineBlob(sha256: String, bytes: [UInt8]) throws
}

/// The durable outbox of deliveries to peers and webhooks.
public protocol OutboxReads {
    /// Whether a delivery with this idempotency key was ever enqueued.
    func deliveryExists(idempotencyKey: String) throws -> Bool

    func delivery(id: String) throws -> OutboxDelivery?

    /// Pending deliveries whose time has come, oldest due first.
    func dueDeliveries(now: Timestamp, limit: Int) throws -> [OutboxDelivery]

    /// When the next pending delivery falls due, if any.
    func nextDeliveryDue() throws -> Timestamp?

    func deliveries(
        state: DeliveryState?, destination: String?, after cursor: String?, limit: Int
    ) throws -> Page<OutboxDelivery>

    /// Deliveries to `destination` that failed for good (dead letters, replayable).
    func deadDeliveries(destination: String) throws -> Int

    /// Deliveries not yet delivered or dead, per destination.
    func outboxBacklog() throws -> [String: Int]
}

/// The durable outbox of deliveries to peers and webhooks. What a write may change.
public protocol OutboxWrites: OutboxReads {
    @discardableResult
    func enqueue(
        destination: String, kind: String, subject: String?, method: String, url: String?, path: String?,
        contentType: String, body: Data, bodyFile: String?, idempotencyKey: String?, policy: RetryPolicy,
        now: Timestamp, signal: OutboxSignal?
    ) throws -> OutboxDelivery

    /// Claims a pending delivery for sending; false when someone else took it or it is no longer pending.
    func claimDelivery(id: String, now: Timestamp) throws -> Bool

    @discardableResult

    func recordAttempt(
        id: String, verdict: AttemptVerdict, status: Int?, error: String?, policy: RetryPolicy, jitter: Double,
        now: Timestamp
    ) throws -> DeliveryState

    @discardableResult

    func resumeDeliveriesInFlight(now: Timestamp) throws -> Int

    /// An operator sends a dead delivery again, with a fresh allowance of attempts.
    func replayDelivery(id: String, now: Timestamp) throws -> OutboxDelivery
}

extension OutboxWrites {
    @discardableResult
    public func enqueue(
        destination: String, kind: String, subject: String?, method: String = "POST", url: String? = nil,
        path: String? = nil, contentType: String = "application/json", body: Data, bodyFile: String? = nil,
        idempotencyKey: String? = nil, policy: RetryPolicy, now: Timestamp, signal: OutboxSignal?
    ) throws -> OutboxDelivery {
        try enqueue(
            destination: destination, kind: kind, subject: subject, method: method, url: url, path: path,
            contentType: contentType, body: body, bodyFile: bodyFile, idempotencyKey: idempotencyKey, policy: policy,
            now: now, signal: signal)
    }
}

/// Institutions' webhook endpoints.
public protocol WebhookReads {
    func webhook(institutionId: String) throws -> Webhook?
}

/// Institutions' webhook endpoints. What a write may change.
public protocol WebhookWrites: WebhookReads {
    func save(_ webhook: Webhook) throws

    /// Removes an institution's webhook; false when it had none.
    func deleteWebhook(institutionId: String) throws -> Bool
}

/// Peer hubs, their directories of centers, and the requests seen from them.
public protocol PeerReads {
    func peer(id: String) throws -> Peer?

    func peers() throws -> [Peer]

    func peerState(peerId: String) throws -> PeerState

    /// Centers of active peers, optionally only those offering `item` or of `kind`.
    func remoteCenters(kind: CenterKind?, item: String?) throws -> [RemoteCenter]

    /// A peer's center by its id.
    func remoteCenter(centerId: String) throws -> RemoteCenter?
}

/// Peer hubs, their directories of centers, and the requests seen from them. What a write may change.
public protocol PeerWrites: PeerReads {
    func save(_ peer: Peer) throws

    /// Records a peer's request id; false when it was seen before (a replay).
    func firstSighting(hubId: String, requestId: String, now: Timestamp) throws -> Bool

    /// Forgets request ids older than the signature window: older requests are refused by their timestamp anyway.
    func forgetSightings(before: Timestamp) throws

    /// Replaces what a peer's directory advertises, and records the successful refresh.
    func replaceDirectory(peerId: String, centers: [RemoteCenter], now: Timestamp) throws

    /// Records a failed refresh; the centers last advertised stay known.
    func recordRefreshFailure(peerId: String, error: String, now: Timestamp) throws
}

extension PeerReads {
    public func remoteCenters(kind: CenterKind? = nil, item: String? = nil) throws -> [RemoteCenter] {
        try remoteCenters(kind: kind, item: item)
    }
}

/// The hash-chained audit log and the heads that witness it.
public protocol AuditReads {
    /// The chain's last record now, or nil while it is empty.
    func auditHead() throws -> (seq: Int64, hash: String)?

    /// Checks the chain in `db` against `head` (read from its file; nil when there is none), with the hub's key.
    func checkAudit(against head: SignedAuditHead?, key: Curve25519.Signing.PublicKey?) throws -> AuditHeadCheck

    /// The head last witnessed for a hub.
    func witnessedHead(hubId: String) throws -> SignedAuditHead?

    /// Walks the whole chain in order and reports the first record that does not hold.
    func verifyAudit() throws -> AuditVerification

    /// Records matching the filters, oldest first, keyset-paginated by sequence number.
    func auditRecords(
        actor: String?, patientKey: String?, targetId: String?, from: Timestamp?, to: Timestamp?, after cursor: String?,
        limit: Int
    ) throws -> Page<AuditRecord>

    func auditCount() throws -> Int
}

/// The hash-chained audit log and the heads that witness it. What a write may change.
public protocol AuditWrites: AuditReads {
    @discardableResult
    func witness(_ head: SignedAuditHead, now: Timestamp) throws -> SignedAuditHead?

    @discardableResult

    func appendAudit(_ event: AuditEvent, at time: Timestamp) throws -> AuditRecord
}

extension AuditReads {
    public func auditRecords(
        actor: String? = nil, patientKey: String? = nil, targetId: String? = nil, from: Timestamp? = nil,
        to: Timestamp? = nil, after cursor: String?, limit: Int
    ) throws -> Page<AuditRecord> {
        try auditRecords(
            actor: actor, patientKey: patientKey, targetId: targetId, from: from, to: to, after: cursor, limit: limit)
    }
}

/// The DICOM nodes of institutions (modalities, archives, workstations), by id and by AE title.
public protocol DICOMNodeReads {
    func dicomNode(id: String) throws -> DICOMNode?
    /// The node with this AE title (compared without leading and trailing spaces).
    func dicomNode(aeTitle: String) throws -> DICOMNode?
    /// An institution's nodes, by id.
    func dicomNodes(institutionId: String) throws -> [DICOMNode]
}

/// The DICOM nodes of institutions. What a write may change.
public protocol DICOMNodeWrites: DICOMNodeReads {
    /// Stores a new node; a conflict naming `ae_title` when another node has its AE title.
    func insert(_ node: DICOMNode) throws
    /// Stores a changed node; a conflict naming `ae_title` when another node has its AE title.
    func update(_ node: DICOMNode) throws
    /// Removes a node; false when there was none.
    func deleteDICOMNode(id: String) throws -> Bool
}

/// The master patient index: which keyed identifiers belong to one person, and the questions it puts to a person.
public protocol PatientIndexReads {
    /// The person each key belongs to, for the keys that belong to one.
    func persons(ofKeys keys: [String]) throws -> [String: String]
    /// Every identifier of the persons these keys belong to, by key with its person and system: where a search for a
    /// patient may look.
    func linkedMembers(ofKeys keys: [String]) throws -> [(key: String, personId: String, system: String)]
    /// A person's identifiers, by key, in the order they were linked.
    func personMembers(id: String) throws -> [(key: String, identifier: LinkedIdentifier)]
    /// The persons whose name, birth date and sex have this key (the first 50).
    func persons(demographicKey: String) throws -> [String]
    /// True when a person has said that two of these keys belong to different people.
    func anySeparation(among keys: [String]) throws -> Bool
    func personReview(id: String) throws -> PersonReview?
    /// The review of this kind still open on exactly these two persons, if any.
    func openPersonReview(kind: PersonReview.Kind, personIds: [String]) throws -> PersonReview?
    /// True when a review on these two persons was decided `separate`: they are not suggested again.
    func personsKeptApart(_ personIds: [String]) throws -> Bool
    func personReviews(status: PersonReview.Status?, after cursor: String?, limit: Int) throws -> Page<PersonReview>

    /// True while a maintenance task (`PatientIndexBackfill.task`) is still to run.
    func maintenanceTaskIsPending(_ name: String) throws -> Bool
    /// The patients of stored exams or results with ids after `after`, by id: the pages the index's backfill walks.
    func storedPatients(
        of kind: PatientIndexBackfill.Records, after: String, limit: Int
    ) throws
        -> [(id: String, patient: Patient)]
}

/// The master patient index. What a write may change.
public protocol PatientIndexWrites: PatientIndexReads {
    /// Puts a key that belongs to no person yet into `personId`.
    func link(key: String, _ identifier: LinkedIdentifier, personId: String) throws
    /// Moves every identifier and demographic key of `from` into `to`; `from` is gone after it.
    func mergePerson(_ from: String, into to: String) throws
    /// Moves one key from its person into `personId`, with the link's new source.
    func relink(key: String, personId: String, at time: Timestamp, source: String) throws
    /// Notes the person's name, birth date and sex by their key (for suggestions).
    func addDemographicKey(_ key: String, personId: String) throws
    /// Notes that `keys` and `others` belong to different people: automatic linking never joins them.
    func separate(_ keys: [String], from others: [String]) throws
    /// Forgets separations among these keys (a person merged them).
    func clearSeparations(among keys: [String]) throws
    func insert(_ review: PersonReview) throws
    func update(_ review: PersonReview) throws
    /// Marks a maintenance task done.
    func finishMaintenanceTask(_ name: String) throws
}

/// The HL7 applications of institutions, their code maps, and what the MLLP door remembers of the messages it took.
public protocol HL7Reads {
    func hl7Application(id: String) throws -> HL7Application?
    /// The application with this sending application and facility (MSH-3, MSH-4).
    func hl7Application(application: String, facility: String) throws -> HL7Application?
    /// An institution's applications, by id.
    func hl7Applications(institutionId: String) throws -> [HL7Application]
    func codeMap(institutionId: String) throws -> CodeMap?
    /// The acknowledgement the hub sent for a message of this application with this control id (MSH-10), if any,
    /// with the digest of what that message said.
    func hl7Answer(applicationId: String, controlId: String) throws -> (answer: [UInt8], digest: String)?
    /// The result an institution's order (filler or placer order number) registered for an item, for corrections.
    func hl7Result(institutionId: String, order: String, itemCode: String) throws -> String?
}

/// What the MLLP door changes.
public protocol HL7Writes: HL7Reads {
    /// Stores a new application; a conflict naming `application` when another has its application and facility.
    func insert(_ application: HL7Application) throws
    func update(_ application: HL7Application) throws
    /// Removes an application; false when there was none.
    func deleteHL7Application(id: String) throws -> Bool
    func save(_ map: CodeMap) throws
    func saveHL7Answer(
        applicationId: String, controlId: String, digest: String, answer: [UInt8], at time: Timestamp) throws
    /// Forgets the answers to messages received before `time`; how many it forgot.
    func forgetHL7Answers(before time: Timestamp) throws -> Int
    func saveHL7Result(institutionId: String, order: String, itemCode: String, resultId: String) throws
}
