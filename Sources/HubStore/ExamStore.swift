import Foundation
import GRDB
import HubCore

public enum ExamStore {
    /// The steps of open work (`ExamStep.isOpen`) as an SQL list.
    static let openSteps =
        "(" + ExamStep.allCases.filter(\.isOpen).map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"

    public static func insert(_ db: Database, _ exam: Exam, patientKeys: [String]) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO exams (id, clinic_id, center_id, step, priority_rank, submitted_at, claim_until,
                                   accession_number, origin_hub, origin_exam_id, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            exam.id, exam.clinicId, exam.centerId, exam.step.rawValue, exam.priority.urgency,
            exam.milestones.submittedAt.millisecondsSinceEpoch, exam.claim?.until.millisecondsSinceEpoch,
            exam.accessionNumber, exam.origin?.hubId, exam.origin?.examId, try HubJSON.encodeString(exam),
        ])
        for key in patientKeys {
            try db.cachedStatement(sql: "INSERT INTO exam_patients (patient_key, exam_id) VALUES (?, ?)").execute(
                arguments: [key, exam.id])
        }
    }

    public static func update(_ db: Database, _ exam: Exam) throws {
        try db.cachedStatement(sql: "UPDATE exams SET center_id = ?, step = ?, claim_until = ?, body = ? WHERE id = ?")
            .execute(arguments: [
                exam.centerId, exam.step.rawValue, exam.claim?.until.millisecondsSinceEpoch,
                try HubJSON.encodeString(exam),
                exam.id,
            ])
    }

    public static func exam(_ db: Database, id: String) throws -> Exam? {
        try Documents.fetch(db, "exams", id: id)
    }

    /// The exam received from `hubId` for its exam `examId`.
    public static func exam(_ db: Database, originHub hubId: String, originExamId examId: String) throws -> Exam? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT body FROM exams WHERE origin_hub = ? AND origin_exam_id = ?"),
            arguments: [hubId, examId]
        ).map { try HubJSON.decode(Exam.self, from: $0) }
    }

    public static func exam(_ db: Database, accessionNumber: String) throws -> Exam? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT body FROM exams WHERE accession_number = ?"), arguments: [accessionNumber]
        )
        .map { try HubJSON.decode(Exam.self, from: $0) }
    }

    /// A center's worklist: waiting work and work whose claim has lapsed, most urgent first, then longest waiting.
    public static func worklist(_ db: Database, centerId: String, now: Timestamp, limit: Int) throws -> [Exam] {
        try String.fetchAll(
            db,
            sql: """
                SELECT body FROM exams
                WHERE center_id = ? AND (step = 'waiting' OR (step = 'claimed' AND claim_until <= ?))
                ORDER BY priority_rank DESC, submitted_at, id LIMIT ?
                """,
            arguments: [centerId, now.millisecondsSinceEpoch, limit]
        ).map { try HubJSON.decode(Exam.self, from: $0) }
    }

    /// Open work of the given centers, for routing by load: the counts the `exams` triggers keep.
    public static func openWork(_ db: Database, centerIds: [String]) throws -> [String: Int] {
        var filter = SQLFilter()
        filter.add("center_id IN (?)", list: centerIds)
        var counts: [String: Int] = [:]
        for row in try Row.fetchAll(
            db, sql: "SELECT center_id, open FROM center_open_work \(filter.whereClause)", arguments: filter.arguments)
        {
            counts[row["center_id"]] = row["open"]
        }
        return counts
    }

    /// Exams visible through the filters, newest id last.
    public static func exams(
        _ db: Database, clinicId: String? = nil, centerIds: [String]? = nil, step: ExamStep? = nil,
        patientKeys: [String]? = nil, after cursor: String?, limit: Int
    ) throws -> Page<Exam> {
        var filter = SQLFilter()
        filter.add("clinic_id = ?", clinicId)
        filter.add("center_id IN (?)", list: centerIds)
        filter.add("step = ?", step?.rawValue)
        filter.add("id IN (SELECT exam_id FROM exam_patients WHERE patient_key IN (?))", list: patientKeys)
        return try Documents.page(db, "exams", filter, after: cursor, limit: limit, id: \.id)
    }

    /// A clinic's exams that wait for their images: submitted and not yet read, of an item a modality performs (not
    /// a laboratory test), with no study attached, oldest first.
    public static func awaitingImages(_ db: Database, clinicId: String, limit: Int) throws -> [Exam] {
        try String.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT body FROM exams
                    WHERE clinic_id = ? AND step IN ('\(ExamStep.awaitingRouting.rawValue)', '\(ExamStep.waiting.rawValue)')
                      AND json_extract(body, '$.item_kind') != '\(ItemKind.lab.rawValue)'
                      AND NOT EXISTS (SELECT 1 FROM dicom_studies WHERE dicom_studies.exam_id = exams.id)
                    ORDER BY submitted_at, id LIMIT ?
                    """),
            arguments: [clinicId, limit]
        ).map { try HubJSON.decode(Exam.self, from: $0) }
    }

    /// Open exams past a point in time, for turnaround checks.
    /// Centers with open work, from the counts the `exams` triggers keep.
    public static func centersWithOpenWork(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT center_id FROM center_open_work WHERE open > 0 ORDER BY center_id")
    }

    /// Open exams of a center and priority submitted at or before `submittedBy` and not yet marked overdue: one range
    /// of the worklist index, whatever the size of the open work.
    public static func overdueCandidates(
        _ db: Database, centerId: String, priority: Priority, submittedBy: Timestamp
    ) throws -> [Exam] {
        try String.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT body FROM exams
                    WHERE center_id = ? AND step IN \(openSteps)
                      AND priority_rank = ? AND submitted_at <= ?
                      AND json_extract(body, '$.milestones.overdue_at') IS NULL
                    """),
            arguments: [centerId, priority.urgency, submittedBy.millisecondsSinceEpoch]
        ).map { try HubJSON.decode(Exam.self, from: $0) }
    }

    /// Exams of a center submitted in a period, for turnaround statistics.
    public static func exams(_ db: Database, centerId: String, from: Timestamp, to: Timestamp) throws -> [Exam] {
        try String.fetchAll(
            db.cachedStatement(
                sql: "SELECT body FROM exams WHERE center_id = ? AND submitted_at >= ? AND submitted_at < ?"),
            arguments: [centerId, from.millisecondsSinceEpoch, to.millisecondsSinceEpoch]
        ).map { try HubJSON.decode(Exam.self, from: $0) }
    }

    // MARK: Attachments

    /// Records an attachment; the same bytes attached twice to one exam are one attachment.
    @discardableResult
    public static func attach(_ db: Database, _ attachment: Attachment) throws -> Bool {
        try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO attachments (exam_id, sha256, media_type, kind, size, uploaded_by, uploaded_at,
                                                   patient_mismatch, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            attachment.examId, attachment.sha256, attachment.mediaType, attachment.kind, attachment.size,
            attachment.uploadedBy, attachment.uploadedAt.millisecondsSinceEpoch, attachment.patientMismatch != nil,
            try HubJSON.encodeString(attachment),
        ])
        return db.changesCount == 1
    }

    public static func attachments(_ db: Database, examId: String) throws -> [Attachment] {
        try String.fetchAll(
            db.cachedStatement(sql: "SELECT body FROM attachments WHERE exam_id = ? ORDER BY uploaded_at, sha256"),
            arguments: [examId]
        )
        .map { try HubJSON.decode(Attachment.self, from: $0) }
    }

    public static func attachment(_ db: Database, examId: String, sha256: String) throws -> Attachment? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT body FROM attachments WHERE exam_id = ? AND sha256 = ?"),
            arguments: [examId, sha256]
        )
        .map { try HubJSON.decode(Attachment.self, from: $0) }
    }
}
