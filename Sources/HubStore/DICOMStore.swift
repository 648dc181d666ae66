import Foundation
import GRDB
import HubCore

extension DICOMStore {
    /// Indexes one instance whose bytes are in the blob store (or kept in the database, by the caller, in the same
    /// transaction). A study belongs to the institution that stored its
    /// first instance, and to at most one exam.
    public static func store(
        _ db: Database, _ instance: IndexedInstance, owner: String, examId: String?, now: Timestamp
    ) throws -> Outcome {
        // A refused instance leaves nothing behind: the rows written before a conflict is found are rolled back.
        var outcome = Outcome.stored
        try db.inSavepoint {
            outcome = try storeRows(db, instance, owner: owner, examId: examId, now: now)
            if case .conflict = outcome { return .rollback }
            return .commit
        }
        return outcome
    }

    static func storeRows(
        _ db: Database, _ instance: IndexedInstance, owner: String, examId: String?, now: Timestamp
    ) throws -> Outcome {
        if let existing = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT sha256, study_uid FROM dicom_instances WHERE sop_instance_uid = ?"),
            arguments: [instance.sopInstanceUID])
        {
            let sha: String = existing["sha256"]
            return sha == instance.sha256
                ? .alreadyStored : .conflict("another instance with this SOP Instance UID is stored")
        }
        if let study = try study(db, uid: instance.studyUID) {
            guard study.owner == owner else { return .conflict("the study was stored by another institution") }
            if let examId, let current = study.examId, current != examId {
                return .conflict("the study is attached to another exam")
            }
            if study.examId == nil, let examId {
                try attach(db, studyUID: instance.studyUID, examId: examId)
            }
        } else {
            try db.cachedStatement(
                sql: """
                    INSERT INTO dicom_studies (study_uid, owner, exam_id, patient_id, patient_name, study_date,
                                               accession_number, updated_at, attributes)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                instance.studyUID, owner, examId, instance.patientID, instance.patientName, instance.studyDate,
                instance.accessionNumber, now.millisecondsSinceEpoch, instance.studyAttributes,
            ])
        }
        if let seriesStudy = try String.fetchOne(
            db.cachedStatement(sql: "SELECT study_uid FROM dicom_series WHERE series_uid = ?"),
            arguments: [instance.seriesUID])
        {
            guard seriesStudy == instance.studyUID else {
                return .conflict("the series belongs to another study")
            }
        } else {
            try db.cachedStatement(
                sql: """
                    INSERT INTO dicom_series (series_uid, study_uid, modality, series_number, attributes)
                    VALUES (?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                instance.seriesUID, instance.studyUID, instance.modality, instance.seriesNumber,
                instance.seriesAttributes,
            ])
            var modalities = Set(
                (try String.fetchOne(
                    db.cachedStatement(sql: "SELECT modalities FROM dicom_studies WHERE study_uid = ?"),
                    arguments: [instance.studyUID])
                    ?? "").split(separator: "\\").map(String.init))
            if let modality = instance.modality, !modality.isEmpty { modalities.insert(modality) }
            try db.cachedStatement(
                sql: """
                    UPDATE dicom_studies SET series_count = series_count + 1, modalities = ? WHERE study_uid = ?
                    """
            ).execute(arguments: [modalities.sorted().joined(separator: "\\"), instance.studyUID])
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO dicom_instances (sop_instance_uid, series_uid, study_uid, sop_class_uid, instance_number,
                                             sha256, size, transfer_syntax, stored_at, attributes, metadata)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            instance.sopInstanceUID, instance.seriesUID, instance.studyUID, instance.sopClassUID,
            instance.instanceNumber, instance.sha256, instance.size, instance.transferSyntax,
            now.millisecondsSinceEpoch, instance.instanceAttributes, instance.metadata,
        ])
        try db.cachedStatement(sql: "UPDATE dicom_series SET instance_count = instance_count + 1 WHERE series_uid = ?")
            .execute(arguments: [instance.seriesUID])
        try db.cachedStatement(
            sql: """
                UPDATE dicom_studies SET instance_count = instance_count + 1, updated_at = ? WHERE study_uid = ?
                """
        ).execute(arguments: [now.millisecondsSinceEpoch, instance.studyUID])
        return .stored
    }

    /// The study's owner and exam, if it is stored.
    public static func study(_ db: Database, uid: String) throws -> (owner: String, examId: String?)? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT owner, exam_id FROM dicom_studies WHERE study_uid = ?"), arguments: [uid]
        )
        .map { ($0["owner"], $0["exam_id"]) }
    }

    /// Attaches a pending study (stored without an exam) to an exam.
    public static func attach(_ db: Database, studyUID: String, examId: String) throws {
        try db.cachedStatement(sql: "UPDATE dicom_studies SET exam_id = ? WHERE study_uid = ?").execute(arguments: [
            examId, studyUID,
        ])
    }

    /// The column a QIDO attribute is matched on, per level.
    static let columns: [String: String] = [
        "PatientID": "s.patient_id", "PatientName": "s.patient_name", "StudyDate": "s.study_date",
        "StudyInstanceUID": "s.study_uid", "AccessionNumber": "s.accession_number",
        "ModalitiesInStudy": "s.modalities", "SeriesInstanceUID": "se.series_uid", "Modality": "se.modality",
        "SOPInstanceUID": "i.sop_instance_uid", "SOPClassUID": "i.sop_class_uid",
    ]

    /// QIDO-RS search at `level`, through the index only.
    /// `fullMetadata`: at instance level, answer with each instance's whole metadata instead of the default
    /// attributes.
    public static func search(
        _ db: Database, level: Level, matches: [(String, DICOMMatch)], access: DICOMAccess, limit: Int, offset: Int,
        fullMetadata: Bool = false
    ) throws -> [DICOMRow] {
        var filter = SQLFilter()
        access.restrict(&filter)
        // In name order, so one search written two ways is one statement.
        for (name, match) in matches.sorted(by: { $0.0 < $1.0 }) {
            guard let column = columns[name] else { continue }
            switch match {
            case .equals(let value) where name == "ModalitiesInStudy":
                filter.add("('\\' || \(column) || '\\') LIKE ?", "%\\\(value)\\%")
            case .equals(let value):
                filter.add("\(column) = ?", value)
            case .wildcard(let pattern):
                filter.add("\(column) GLOB ?", globPattern(pattern))
            case .dateRange(let from, let to):
                filter.add("\(column) >= ?", from)
                filter.add("\(column) <= ?", to)
            case .list(let values):
                filter.add("\(column) IN (?)", list: values)
            }
        }
        let whereClause = filter.whereClause
        var arguments = filter.arguments
        _ = arguments.append(contentsOf: [limit, offset])
        // A viewer's usual searches (a patient's studies, a study's series or instances: one or two single values of
        // different attributes) have few shapes, and each connection keeps their statements compiled. Others are
        // compiled each time, so no client can fill the cache with shapes.
        let usual =
            matches.count <= 2 && Set(matches.map(\.0)).count == matches.count
            && matches.allSatisfy {
                if case .equals = $0.1 { return true }
                return false
            }
        func rows(_ sql: String) throws -> [Row] {
            usual
                ? try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
                : try Row.fetchAll(db, sql: sql, arguments: arguments)
        }
        switch level {
        case .study:
            return try rows(
                """
                SELECT s.study_uid, s.attributes, s.modalities, s.series_count, s.instance_count, s.exam_id
                FROM dicom_studies s \(whereClause)
                ORDER BY s.study_date DESC, s.study_uid LIMIT ? OFFSET ?
                """
            ).map {
                DICOMRow(
                    studyUID: $0["study_uid"], attributes: $0["attributes"], modalities: $0["modalities"],
                    seriesCount: $0["series_count"], instanceCount: $0["instance_count"], examId: $0["exam_id"])
            }
        case .series:
            return try rows(
                """
                SELECT se.series_uid, se.study_uid, se.attributes, se.instance_count, s.attributes AS study
                FROM dicom_series se JOIN dicom_studies s ON s.study_uid = se.study_uid \(whereClause)
                ORDER BY se.study_uid, se.series_number, se.series_uid LIMIT ? OFFSET ?
                """
            ).map {
                DICOMRow(
                    studyUID: $0["study_uid"], seriesUID: $0["series_uid"],
                    attributes: merge($0["study"], $0["attributes"]), instanceCount: $0["instance_count"])
            }
        case .instance:
            return try rows(
                """
                SELECT i.sop_instance_uid, i.series_uid, i.study_uid,
                       \(fullMetadata ? "i.metadata" : "i.attributes") AS attributes
                FROM dicom_instances i JOIN dicom_series se ON se.series_uid = i.series_uid
                JOIN dicom_studies s ON s.study_uid = i.study_uid \(whereClause)
                ORDER BY i.study_uid, i.series_uid, i.instance_number, i.sop_instance_uid LIMIT ? OFFSET ?
                """
            ).map {
                DICOMRow(
                    studyUID: $0["study_uid"], seriesUID: $0["series_uid"], sopInstanceUID: $0["sop_instance_uid"],
                    attributes: $0["attributes"])
            }
        }
    }

    /// The instances of a study, a series or one instance the caller may read, in order.
    public static func files(
        _ db: Database, studyUID: String, seriesUID: String? = nil, sopInstanceUID: String? = nil,
        access: DICOMAccess
    ) throws -> [StoredInstanceFile] {
        var filter = SQLFilter()
        filter.add("i.study_uid = ?", studyUID)
        filter.add("i.series_uid = ?", seriesUID)
        filter.add("i.sop_instance_uid = ?", sopInstanceUID)
        access.restrict(&filter)
        return try Row.fetchAll(
            db,
            sql: """
                SELECT i.sop_instance_uid, i.series_uid, i.study_uid, i.sha256, i.size, i.transfer_syntax, i.metadata
                FROM dicom_instances i JOIN dicom_studies s ON s.study_uid = i.study_uid
                \(filter.whereClause)
                ORDER BY i.series_uid, i.instance_number, i.sop_instance_uid
                """, arguments: filter.arguments
        ).map {
            StoredInstanceFile(
                sopInstanceUID: $0["sop_instance_uid"], seriesUID: $0["series_uid"], studyUID: $0["study_uid"],
                sha256: $0["sha256"], size: $0["size"], transferSyntax: $0["transfer_syntax"],
                metadata: $0["metadata"])
        }
    }

    /// The SOP class of each of `sopInstanceUIDs` that is stored and visible through `access`, by SOP Instance UID.
    public static func storedClasses(
        _ db: Database, sopInstanceUIDs: [String], access: DICOMAccess
    ) throws -> [String: String] {
        var classes: [String: String] = [:]
        for start in stride(from: 0, to: sopInstanceUIDs.count, by: 500) {
            var filter = SQLFilter()
            filter.add(
                "i.sop_instance_uid IN (?)",
                list: Array(sopInstanceUIDs[start..<min(start + 500, sopInstanceUIDs.count)]))
            access.restrict(&filter)
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT i.sop_instance_uid, i.sop_class_uid
                    FROM dicom_instances i JOIN dicom_studies s ON s.study_uid = i.study_uid
                    \(filter.whereClause)
                    """, arguments: filter.arguments)
            {
                classes[row["sop_instance_uid"]] = row["sop_class_uid"] ?? ""
            }
        }
        return classes
    }

    /// A DICOM wildcard (`*`, `?`) as a GLOB pattern, other GLOB characters taken literally.
    static func globPattern(_ pattern: String) -> String {
        var out = ""
        for character in pattern {
            switch character {
            case "[": out += "[[]"
            case "]": out += "[]]"
            default: out.append(character)
            }
        }
        return out
    }

}

extension DICOMAccess {
    /// Adds the condition on `dicom_studies s`: the caller's own studies, or those of exams read at its institution.
    func restrict(_ filter: inout SQLFilter) {
        var either = SQLFilter()
        either.add("s.owner = ?", owner)
        either.add(
            """
            s.exam_id IN (SELECT e.id FROM exams e JOIN centers c ON c.id = e.center_id
                          WHERE c.institution_id = ?)
            """, readingInstitution)
        filter.add(
            either.conditions.isEmpty ? "0" : "(" + either.conditions.joined(separator: " OR ") + ")",
            arguments: either.arguments)
    }
}
