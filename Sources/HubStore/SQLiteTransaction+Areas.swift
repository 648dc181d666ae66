import Crypto
import Foundation
import GRDB
import HubCore

extension SQLiteTransaction: RegistryWrites {
    public func insert(_ institution: Institution) throws {
        try RegistryStore.insert(db, institution)
    }

    public func update(_ institution: Institution) throws {
        try RegistryStore.update(db, institution)
    }

    public func institution(id: String) throws -> Institution? {
        try RegistryStore.institution(db, id: id)
    }

    public func institutions(
        level: InstitutionLevel?, region: String?, alliance: String?, status: RecordStatus?, after cursor: String?,
        limit: Int
    ) throws -> Page<Institution> {
        try RegistryStore.institutions(
            db, level: level, region: region, alliance: alliance, status: status, after: cursor, limit: limit)
    }

    public func insert(_ practitioner: Practitioner) throws {
        try RegistryStore.insert(db, practitioner)
    }

    public func update(_ practitioner: Practitioner) throws {
        try RegistryStore.update(db, practitioner)
    }

    public func practitioner(id: String) throws -> Practitioner? {
        try RegistryStore.practitioner(db, id: id)
    }

    public func practitioners(institutionId: String, after cursor: String?, limit: Int) throws -> Page<Practitioner> {
        try RegistryStore.practitioners(db, institutionId: institutionId, after: cursor, limit: limit)
    }

    public func insert(_ center: Center) throws {
        try RegistryStore.insert(db, center)
    }

    public func update(_ center: Center) throws {
        try RegistryStore.update(db, center)
    }

    public func center(id: String) throws -> Center? {
        try RegistryStore.center(db, id: id)
    }

    public func centers(
        kind: CenterKind?, item: String?, institutionId: String?, status: RecordStatus?, after cursor: String?,
        limit: Int
    ) throws -> Page<Center> {
        try RegistryStore.centers(
            db, kind: kind, item: item, institutionId: institutionId, status: status, after: cursor, limit: limit)
    }
}

extension SQLiteTransaction: TokenWrites {
    public func issueToken(
        practitionerId: String?, institutionId: String?, roles: [Role], label: String?, createdBy: String?,
        lifetimeDays: Int?, now: Timestamp
    ) throws -> (TokenRecord, secret: String) {
        try TokenStore.issue(
            db, practitionerId: practitionerId, institutionId: institutionId, roles: roles, label: label,
            createdBy: createdBy, lifetimeDays: lifetimeDays, now: now)
    }

    public func resolveToken(secret: String) throws -> Principal? {
        try TokenStore.resolve(db, secret: secret)
    }

    public func token(secret: String) throws -> TokenRecord? {
        try TokenStore.token(db, secret: secret)
    }

    public func token(id: String) throws -> TokenRecord? {
        try TokenStore.token(db, id: id)
    }

    public func tokens(practitionerId: String) throws -> [TokenRecord] {
        try TokenStore.tokens(db, practitionerId: practitionerId)
    }

    public func revokeToken(id: String, now: Timestamp) throws {
        try TokenStore.revoke(db, id: id, now: now)
    }

    public func hasActiveAdmin(now: Timestamp) throws -> Bool {
        try TokenStore.hasActiveAdmin(db, now: now)
    }
}

extension SQLiteTransaction: ExamWrites {
    public func insert(_ exam: Exam, patientKeys: [String]) throws {
        try ExamStore.insert(db, exam, patientKeys: patientKeys)
    }

    public func update(_ exam: Exam) throws {
        try ExamStore.update(db, exam)
    }

    public func exam(id: String) throws -> Exam? {
        try ExamStore.exam(db, id: id)
    }

    public func exam(originHub hubId: String, originExamId examId: String) throws -> Exam? {
        try ExamStore.exam(db, originHub: hubId, originExamId: examId)
    }

    public func exam(accessionNumber: String) throws -> Exam? {
        try ExamStore.exam(db, accessionNumber: accessionNumber)
    }

    public func worklist(centerId: String, now: Timestamp, limit: Int) throws -> [Exam] {
        try ExamStore.worklist(db, centerId: centerId, now: now, limit: limit)
    }

    public func awaitingImages(clinicId: String, limit: Int) throws -> [Exam] {
        try ExamStore.awaitingImages(db, clinicId: clinicId, limit: limit)
    }

    public func openWork(centerIds: [String]) throws -> [String: Int] {
        try ExamStore.openWork(db, centerIds: centerIds)
    }

    public func exams(
        clinicId: String?, centerIds: [String]?, step: ExamStep?, patientKeys: [String]?, after cursor: String?,
        limit: Int
    ) throws -> Page<Exam> {
        try ExamStore.exams(
            db, clinicId: clinicId, centerIds: centerIds, step: step, patientKeys: patientKeys, after: cursor,
            limit: limit)
    }

    public func centersWithOpenWork() throws -> [String] {
        try ExamStore.centersWithOpenWork(db)
    }

    public func overdueCandidates(centerId: String, priority: Priority, submittedBy: Timestamp) throws -> [Exam] {
        try ExamStore.overdueCandidates(db, centerId: centerId, priority: priority, submittedBy: submittedBy)
    }

    public func exams(centerId: String, from: Timestamp, to: Timestamp) throws -> [Exam] {
        try ExamStore.exams(db, centerId: centerId, from: from, to: to)
    }

    public func attach(_ attachment: Attachment) throws -> Bool {
        try ExamStore.attach(db, attachment)
    }

    public func attachments(examId: String) throws -> [Attachment] {
        try ExamStore.attachments(db, examId: examId)
    }

    public func attachment(examId: String, sha256: String) throws -> Attachment? {
        try ExamStore.attachment(db, examId: examId, sha256: sha256)
    }
}

extension SQLiteTransaction: CriticalValueWrites {
    public func insert(_ notice: CriticalValueNotice) throws {
        try CriticalValueStore.insert(db, notice)
    }

    public func update(_ notice: CriticalValueNotice) throws {
        try CriticalValueStore.update(db, notice)
    }

    public func notice(id: String) throws -> CriticalValueNotice? {
        try CriticalValueStore.notice(db, id: id)
    }

    public func notices(
        clinicId: String?, centerIds: [String]?, examId: String?, acknowledged: Bool?, after cursor: String?, limit: Int
    ) throws -> Page<CriticalValueNotice> {
        try CriticalValueStore.notices(
            db, clinicId: clinicId, centerIds: centerIds, examId: examId, acknowledged: acknowledged, after: cursor,
            limit: limit)
    }

    public func overdueNotices(now: Timestamp) throws -> [CriticalValueNotice] {
        try CriticalValueStore.overdue(db, now: now)
    }
}

extension SQLiteTransaction: ResultWrites {
    public func insert(_ result: ResultRecord, patientKeys: [String]) throws {
        try ResultStore.insert(db, result, patientKeys: patientKeys)
    }

    public func insert(_ result: StorableResult) throws {
        try ResultStore.insert(db, result)
    }

    public func update(_ result: ResultRecord) throws {
        try ResultStore.update(db, result)
    }

    public func result(id: String) throws -> ResultRecord? {
        try ResultStore.result(db, id: id)
    }

    public func supersede(old: ResultRecord, new: StorableResult, now: Timestamp) throws {
        try ResultStore.supersede(db, old: old, new: new, now: now)
    }

    public func results(patientKeys: [String]) throws -> [ResultRecord] {
        try ResultStore.results(db, patientKeys: patientKeys)
    }

    public func resultHistory(id: String) throws -> [ResultRecord] {
        try ResultStore.history(db, id: id)
    }
}

extension SQLiteTransaction: RecognitionWrites {
    public func candidates(patientKeys: [String], itemCode: String) throws -> [ResultRecord] {
        try RecognitionStore.results(db, patientKeys: patientKeys, itemCode: itemCode)
    }

    public func insert(_ check: RecognitionCheck, body: Data?) throws {
        try RecognitionStore.insert(db, check, body: body)
    }

    public func recognitionCheck(id: String) throws -> RecognitionCheck? {
        try RecognitionStore.check(db, id: id)
    }

    public func insert(_ decision: RecognitionDecision) throws {
        try RecognitionStore.insert(db, decision)
    }

    public func decisions(checkId: String) throws -> [RecognitionDecision] {
        try RecognitionStore.decisions(db, checkId: checkId)
    }

    public func recognitionStats(_ f: StatsFilter) throws -> RecognitionStats {
        try RecognitionStats.compute(db, f)
    }
}

extension SQLiteTransaction: DICOMIndexWrites {
    public func index(
        _ instance: IndexedInstance, owner: String, examId: String?, now: Timestamp
    ) throws -> DICOMStore.Outcome {
        try DICOMStore.store(db, instance, owner: owner, examId: examId, now: now)
    }

    public func study(uid: String) throws -> (owner: String, examId: String?)? {
        try DICOMStore.study(db, uid: uid)
    }

    public func attach(studyUID: String, examId: String) throws {
        try DICOMStore.attach(db, studyUID: studyUID, examId: examId)
    }

    public func search(
        level: DICOMStore.Level, matches: [(String, DICOMMatch)], access: DICOMAccess, limit: Int, offset: Int,
        fullMetadata: Bool
    ) throws -> [DICOMRow] {
        try DICOMStore.search(
            db, level: level, matches: matches, access: access, limit: limit, offset: offset, fullMetadata: fullMetadata
        )
    }

    public func storedClasses(sopInstanceUIDs: [String], access: DICOMAccess) throws -> [String: String] {
        try DICOMStore.storedClasses(db, sopInstanceUIDs: sopInstanceUIDs, access: access)
    }

    public func instanceFiles(
        studyUID: String, seriesUID: String?, sopInstanceUID: String?, access: DICOMAccess
    ) throws -> [StoredInstanceFile] {
        try DICOMStore.files(
            db, studyUID: studyUID, seriesUID: seriesUID, sopInstanceUID: sopInstanceUID, access: access)
    }
}

extension SQLiteTransaction: IdempotencyWrites {
    public func idempotentAnswer(
        scope: String, key: String, method: String, path: String, bodyDigest: String
    ) throws -> IdempotencyStore.Replay? {
        try IdempotencyStore.replay(db, scope: scope, key: key, method: method, path: path, bodyDigest: bodyDigest)
    }

    public func rememberAnswer(
        scope: String, key: String, method: String, path: String, bodyDigest: String, status: Int, body: Data,
        now: Timestamp
    ) throws {
        try IdempotencyStore.save(
            db, scope: scope, key: key, method: method, path: path, bodyDigest: bodyDigest, status: status, body: body,
            now: now)
    }

    public func purgeAnswers(now: Timestamp) throws -> Int {
        try IdempotencyStore.purge(db, now: now)
    }
}

extension SQLiteTransaction: InlineBlobWrites {
    public func insertInlineBlob(sha256: String, bytes: [UInt8]) throws {
        try InlineBlobs.insert(db, sha256: sha256, bytes: bytes)
    }

    public func inlineBlob(sha256: String) throws -> [UInt8]? {
        try InlineBlobs.bytes(db, sha256: sha256)
    }

    public func blobContent(sha256: String, files: BlobStore) throws -> BlobContent {
        try InlineBlobs.content(db, sha256: sha256, files: files)
    }

    public func blobFilesReferenced() throws -> Set<String> {
        try InlineBlobs.filesReferenced(db)
    }

    public func damagedInlineBlobs() throws -> [String] {
        try InlineBlobs.damaged(db)
    }
}

extension SQLiteTransaction: OutboxWrites {
    public func enqueue(
        destination: String, kind: String, subject: String?, method: String, url: String?, path: String?,
        contentType: String, body: Data, bodyFile: String?, idempotencyKey: String?, policy: RetryPolicy,
        now: Timestamp, signal: OutboxSignal?
    ) throws -> OutboxDelivery {
        try OutboxStore.enqueue(
            db, destination: destination, kind: kind, subject: subject, method: method, url: url, path: path,
            contentType: contentType, body: body, bodyFile: bodyFile, idempotencyKey: idempotencyKey, policy: policy,
            now: now, signal: signal)
    }

    public func deliveryExists(idempotencyKey: String) throws -> Bool {
        try OutboxStore.exists(db, idempotencyKey: idempotencyKey)
    }

    public func delivery(id: String) throws -> OutboxDelivery? {
        try OutboxStore.delivery(db, id: id)
    }

    public func dueDeliveries(now: Timestamp, limit: Int) throws -> [OutboxDelivery] {
        try OutboxStore.due(db, now: now, limit: limit)
    }

    public func nextDeliveryDue() throws -> Timestamp? {
        try OutboxStore.nextDue(db)
    }

    public func claimDelivery(id: String, now: Timestamp) throws -> Bool {
        try OutboxStore.claim(db, id: id, now: now)
    }

    public func recordAttempt(
        id: String, verdict: AttemptVerdict, status: Int?, error: String?, policy: RetryPolicy, jitter: Double,
        now: Timestamp
    ) throws -> DeliveryState {
        try OutboxStore.record(
            db, id: id, verdict: verdict, status: status, error: error, policy: policy, jitter: jitter, now: now)
    }

    public func resumeDeliveriesInFlight(now: Timestamp) throws -> Int {
        try OutboxStore.resumeInFlight(db, now: now)
    }

    public func replayDelivery(id: String, now: Timestamp) throws -> OutboxDelivery {
        try OutboxStore.replay(db, id: id, now: now)
    }

    public func deliveries(
        state: DeliveryState?, destination: String?, after cursor: String?, limit: Int
    ) throws -> Page<OutboxDelivery> {
        try OutboxStore.list(db, state: state, destination: destination, after: cursor, limit: limit)
    }

    public func deadDeliveries(destination: String) throws -> Int {
        try OutboxStore.deadCount(db, destination: destination)
    }

    public func outboxBacklog() throws -> [String: Int] {
        try OutboxStore.backlog(db)
    }
}

extension SQLiteTransaction: WebhookWrites {
    public func save(_ webhook: Webhook) throws {
        try WebhookStore.save(db, webhook)
    }

    public func deleteWebhook(institutionId: String) throws -> Bool {
        try WebhookStore.delete(db, institutionId: institutionId)
    }

    public func webhook(institutionId: String) throws -> Webhook? {
        try WebhookStore.webhook(db, institutionId: institutionId)
    }
}

extension SQLiteTransaction: PeerWrites {
    public func save(_ peer: Peer) throws {
        try PeerStore.save(db, peer)
    }

    public func peer(id: String) throws -> Peer? {
        try PeerStore.peer(db, id: id)
    }

    public func peers() throws -> [Peer] {
        try PeerStore.peers(db)
    }

    public func firstSighting(hubId: String, requestId: String, now: Timestamp) throws -> Bool {
        try PeerStore.firstSighting(db, hubId: hubId, requestId: requestId, now: now)
    }

    public func forgetSightings(before: Timestamp) throws {
        try PeerStore.forgetSightings(db, before: before)
    }

    public func replaceDirectory(peerId: String, centers: [RemoteCenter], now: Timestamp) throws {
        try PeerStore.replaceDirectory(db, peerId: peerId, centers: centers, now: now)
    }

    public func recordRefreshFailure(peerId: String, error: String, now: Timestamp) throws {
        try PeerStore.recordRefreshFailure(db, peerId: peerId, error: error, now: now)
    }

    public func peerState(peerId: String) throws -> PeerState {
        try PeerStore.state(db, peerId: peerId)
    }

    public func remoteCenters(kind: CenterKind?, item: String?) throws -> [RemoteCenter] {
        try PeerStore.remoteCenters(db, kind: kind, item: item)
    }

    public func remoteCenter(centerId: String) throws -> RemoteCenter? {
        try PeerStore.remoteCenter(db, centerId: centerId)
    }
}

extension SQLiteTransaction: AuditWrites {
    public func auditHead() throws -> (seq: Int64, hash: String)? {
        try AuditHead.current(db)
    }

    public func checkAudit(against head: SignedAuditHead?, key: Curve25519.Signing.PublicKey?) throws -> AuditHeadCheck
    {
        try AuditHead.check(db, against: head, key: key)
    }

    public func witness(_ head: SignedAuditHead, now: Timestamp) throws -> SignedAuditHead? {
        try WitnessedAuditHeads.witness(db, head, now: now)
    }

    public func witnessedHead(hubId: String) throws -> SignedAuditHead? {
        try WitnessedAuditHeads.witnessed(db, hubId: hubId)
    }

    public func appendAudit(_ event: AuditEvent, at time: Timestamp) throws -> AuditRecord {
        try AuditLog.append(db, event, at: time)
    }

    public func verifyAudit() throws -> AuditVerification {
        try AuditLog.verify(db)
    }

    public func auditRecords(
        actor: String?, patientKey: String?, targetId: String?, from: Timestamp?, to: Timestamp?, after cursor: String?,
        limit: Int
    ) throws -> Page<AuditRecord> {
        try AuditLog.records(
            db, actor: actor, patientKey: patientKey, targetId: targetId, from: from, to: to, after: cursor,
            limit: limit)
    }

    public func auditCount() throws -> Int {
        try AuditLog.count(db)
    }
}
