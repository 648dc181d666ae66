import GRDB

extension AppDatabase {
    /// Every schema change, in order. A migration that has shipped is never edited: add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1_registry") { db in
            try db.execute(
                sql: """
                    CREATE TABLE hub_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);

                    CREATE TABLE institutions (
                        id TEXT PRIMARY KEY NOT NULL,
                        level TEXT NOT NULL,
                        region TEXT NOT NULL,
                        status TEXT NOT NULL,
                        body TEXT NOT NULL
                    );
                    CREATE INDEX institutions_region ON institutions(region);

                    CREATE TABLE practitioners (
                        id TEXT PRIMARY KEY NOT NULL,
                        institution_id TEXT NOT NULL REFERENCES institutions(id),
                        status TEXT NOT NULL,
                        body TEXT NOT NULL
                    );
                    CREATE INDEX practitioners_institution ON practitioners(institution_id, id);

                    CREATE TABLE tokens (
                        id TEXT PRIMARY KEY NOT NULL,
                        digest TEXT NOT NULL UNIQUE,
                        practitioner_id TEXT REFERENCES practitioners(id),
                        institution_id TEXT REFERENCES institutions(id),
                        roles TEXT NOT NULL,
                        label TEXT,
                        created_at INTEGER NOT NULL,
                        created_by TEXT,
                        revoked_at INTEGER
                    );
                    CREATE INDEX tokens_practitioner ON tokens(practitioner_id);

                    CREATE TABLE centers (
                        id TEXT PRIMARY KEY NOT NULL,
                        institution_id TEXT NOT NULL REFERENCES institutions(id),
                        kind TEXT NOT NULL,
                        status TEXT NOT NULL,
                        body TEXT NOT NULL
                    );
                    CREATE INDEX centers_kind ON centers(kind, id);
                    CREATE TABLE center_items (
                        center_id TEXT NOT NULL REFERENCES centers(id),
                        item_code TEXT NOT NULL,
                        PRIMARY KEY (item_code, center_id)
                    ) WITHOUT ROWID;

                    CREATE TABLE catalog_versions (
                        version TEXT PRIMARY KEY NOT NULL,
                        seq INTEGER NOT NULL UNIQUE,
                        effective_from TEXT NOT NULL,
                        title TEXT,
                        item_count INTEGER NOT NULL,
                        published_at INTEGER NOT NULL,
                        published_by TEXT
                    );
                    CREATE TABLE catalog_items (
                        version TEXT NOT NULL REFERENCES catalog_versions(version),
                        code TEXT NOT NULL,
                        position INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        category TEXT NOT NULL,
                        body TEXT NOT NULL,
                        PRIMARY KEY (version, code)
                    ) WITHOUT ROWID;

                    CREATE TABLE audit_log (
                        seq INTEGER PRIMARY KEY,
                        at INTEGER NOT NULL,
                        actor TEXT NOT NULL,
                        institution_id TEXT,
                        action TEXT NOT NULL,
                        target_type TEXT NOT NULL,
                        target_id TEXT NOT NULL,
                        patient_key TEXT,
                        remote_addr TEXT,
                        request_id TEXT,
                        detail TEXT,
                        prev_hash TEXT NOT NULL,
                        hash TEXT NOT NULL
                    );
                    CREATE INDEX audit_actor ON audit_log(actor, seq);
                    CREATE INDEX audit_patient ON audit_log(patient_key, seq) WHERE patient_key IS NOT NULL;
                    CREATE INDEX audit_at ON audit_log(at);
                    -- Append-only at the storage level too: rewriting history takes dropping these triggers first,
                    -- which the hash chain then exposes.
                    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

                    CREATE TABLE idempotency_keys (
                        scope TEXT NOT NULL,
                        key TEXT NOT NULL,
                        method TEXT NOT NULL,
                        path TEXT NOT NULL,
                        body_digest TEXT NOT NULL,
                        status INTEGER NOT NULL,
                        response BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (scope, key)
                    ) WITHOUT ROWID;
                    CREATE INDEX idempotency_created ON idempotency_keys(created_at);
                    """)
        }
        migrator.registerMigration("v2_outbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE outbox (
                        id TEXT PRIMARY KEY NOT NULL,
                        destination TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        subject TEXT,
                        method TEXT NOT NULL,
                        url TEXT,
                        path TEXT,
                        content_type TEXT NOT NULL,
                        body BLOB NOT NULL,
                        idempotency_key TEXT NOT NULL UNIQUE,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        max_attempts INTEGER NOT NULL,
                        next_attempt_at INTEGER NOT NULL,
                        last_status INTEGER,
                        last_error TEXT,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        delivered_at INTEGER
                    );
                    CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
                    CREATE INDEX outbox_destination ON outbox(destination, state);

                    CREATE TABLE webhooks (
                        institution_id TEXT PRIMARY KEY NOT NULL REFERENCES institutions(id),
                        url TEXT NOT NULL,
                        escalation_url TEXT,
                        secret TEXT NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v3_exams") { db in
            try db.execute(
                sql: """
                    CREATE TABLE exams (
                        id TEXT PRIMARY KEY NOT NULL,
                        clinic_id TEXT NOT NULL REFERENCES institutions(id),
                        center_id TEXT REFERENCES centers(id),
                        step TEXT NOT NULL,
                        priority_rank INTEGER NOT NULL,
                        submitted_at INTEGER NOT NULL,
                        claim_until INTEGER,
                        accession_number TEXT NOT NULL UNIQUE,
                        body TEXT NOT NULL
                    );
                    CREATE INDEX exams_worklist ON exams(center_id, step, priority_rank DESC, submitted_at);
                    CREATE INDEX exams_clinic ON exams(clinic_id, id);
                    CREATE INDEX exams_step ON exams(step, submitted_at);
                    CREATE TABLE exam_patients (
                        patient_key TEXT NOT NULL,
                        exam_id TEXT NOT NULL REFERENCES exams(id),
                        PRIMARY KEY (patient_key, exam_id)
                    ) WITHOUT ROWID;

                    CREATE TABLE attachments (
                        exam_id TEXT NOT NULL REFERENCES exams(id),
                        sha256 TEXT NOT NULL,
                        media_type TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        uploaded_by TEXT NOT NULL,
                        uploaded_at INTEGER NOT NULL,
                        patient_mismatch INTEGER NOT NULL DEFAULT 0,
                        body TEXT NOT NULL,
                        PRIMARY KEY (exam_id, sha256)
                    ) WITHOUT ROWID;

                    CREATE TABLE critical_values (
                        id TEXT PRIMARY KEY NOT NULL,
                        exam_id TEXT NOT NULL REFERENCES exams(id),
                        clinic_id TEXT NOT NULL REFERENCES institutions(id),
                        center_id TEXT,
                        acknowledged INTEGER NOT NULL DEFAULT 0,
                        ack_due_at INTEGER NOT NULL,
                        escalated INTEGER NOT NULL DEFAULT 0,
                        body TEXT NOT NULL
                    );
                    CREATE INDEX critical_due ON critical_values(acknowledged, escalated, ack_due_at);
                    CREATE INDEX critical_clinic ON critical_values(clinic_id, id);
                    CREATE INDEX critical_center ON critical_values(center_id, id);

                    CREATE TABLE results (
                        id TEXT PRIMARY KEY NOT NULL,
                        item_code TEXT NOT NULL,
                        institution_id TEXT NOT NULL,
                        exam_id TEXT,
                        performed_at INTEGER NOT NULL,
                        report_status TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        body TEXT NOT NULL
                    );
                    CREATE INDEX results_exam ON results(exam_id);
                    CREATE TABLE result_patients (
                        patient_key TEXT NOT NULL,
                        item_code TEXT NOT NULL,
                        result_id TEXT NOT NULL REFERENCES results(id),
                        PRIMARY KEY (patient_key, item_code, result_id)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v4_recognition") { db in
            try db.execute(
                sql: """
                    CREATE TABLE result_history (
                        result_id TEXT NOT NULL REFERENCES results(id),
                        version INTEGER NOT NULL,
                        body TEXT NOT NULL,
                        replaced_at INTEGER NOT NULL,
                        PRIMARY KEY (result_id, version)
                    ) WITHOUT ROWID;

                    CREATE TABLE recognition_checks (
                        id TEXT PRIMARY KEY NOT NULL,
                        institution_id TEXT NOT NULL,
                        department TEXT,
                        practitioner_id TEXT,
                        item_code TEXT NOT NULL,
                        category TEXT,
                        emergency INTEGER NOT NULL,
                        catalog_version TEXT,
                        reminded INTEGER NOT NULL,
                        recognizable_elsewhere INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        body TEXT NOT NULL
                    );
                    CREATE INDEX checks_time ON recognition_checks(created_at);

                    CREATE TABLE recognition_decisions (
                        id TEXT PRIMARY KEY NOT NULL,
                        check_id TEXT NOT NULL REFERENCES recognition_checks(id),
                        result_id TEXT,
                        decision TEXT NOT NULL,
                        reason_code INTEGER,
                        institution_id TEXT NOT NULL,
                        department TEXT,
                        practitioner_id TEXT,
                        item_code TEXT NOT NULL,
                        category TEXT,
                        price_fen INTEGER NOT NULL,
                        cross_institution INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        body TEXT NOT NULL
                    );
                    CREATE INDEX decisions_time ON recognition_decisions(created_at);
                    CREATE INDEX decisions_check ON recognition_decisions(check_id);
                    CREATE TRIGGER decisions_no_update BEFORE UPDATE ON recognition_decisions
                        BEGIN SELECT RAISE(ABORT, 'recognition decisions are append-only'); END;
                    CREATE TRIGGER decisions_no_delete BEFORE DELETE ON recognition_decisions
                        BEGIN SELECT RAISE(ABORT, 'recognition decisions are append-only'); END;
                    """)
        }
        migrator.registerMigration("v5_federation") { db in
            try db.execute(
                sql: """
                    CREATE TABLE peers (
                        id TEXT PRIMARY KEY NOT NULL,
                        status TEXT NOT NULL,
                        body TEXT NOT NULL
                    );
                    -- Request ids already accepted from peers, so a replayed request is refused.
                    CREATE TABLE federation_seen (
                        hub_id TEXT NOT NULL,
                        request_id TEXT NOT NULL,
                        seen_at INTEGER NOT NULL,
                        PRIMARY KEY (hub_id, request_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX federation_seen_at ON federation_seen(seen_at);
                    """)
        }
        migrator.registerMigration("v6_peer_directory") { db in
            try db.execute(
                sql: """
                    -- The centers each peer's directory advertised at its last successful refresh.
                    CREATE TABLE peer_centers (
                        peer_id TEXT NOT NULL REFERENCES peers(id),
                        center_id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        body TEXT NOT NULL,
                        PRIMARY KEY (peer_id, center_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX peer_centers_center ON peer_centers(center_id);
                    CREATE TABLE peer_state (
                        peer_id TEXT PRIMARY KEY NOT NULL REFERENCES peers(id),
                        body TEXT NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v7_forwarded_exams") { db in
            // Exams may now name a clinic of a peer hub (received) or a center of a peer hub (forwarded), so the
            // exam and critical-value tables are rebuilt without those two foreign keys (SQLite cannot drop one).
            try db.execute(
                sql: """
                    CREATE TABLE exams_new (
                        id TEXT PRIMARY KEY NOT NULL,
                        clinic_id TEXT NOT NULL,
                        center_id TEXT,
                        step TEXT NOT NULL,
                        priority_rank INTEGER NOT NULL,
                        submitted_at INTEGER NOT NULL,
                        claim_until INTEGER,
                        accession_number TEXT NOT NULL UNIQUE,
                        origin_hub TEXT,
                        origin_exam_id TEXT,
                        body TEXT NOT NULL
                    );
                    INSERT INTO exams_new (id, clinic_id, center_id, step, priority_rank, submitted_at, claim_until,
                                           accession_number, body)
                        SELECT id, clinic_id, center_id, step, priority_rank, submitted_at, claim_until,
                               accession_number, body FROM exams;
                    DROP TABLE exams;
                    ALTER TABLE exams_new RENAME TO exams;
                    CREATE INDEX exams_worklist ON exams(center_id, step, priority_rank DESC, submitted_at);
                    CREATE INDEX exams_clinic ON exams(clinic_id, id);
                    CREATE INDEX exams_step ON exams(step, submitted_at);
                    -- A retried forward finds the exam it created the first time.
                    CREATE UNIQUE INDEX exams_origin ON exams(origin_hub, origin_exam_id) WHERE origin_hub IS NOT NULL;

                    CREATE TABLE critical_values_new (
                        id TEXT PRIMARY KEY NOT NULL,
                        exam_id TEXT NOT NULL REFERENCES exams(id),
                        clinic_id TEXT NOT NULL,
                        center_id TEXT,
                        acknowledged INTEGER NOT NULL DEFAULT 0,
                        ack_due_at INTEGER NOT NULL,
                        escalated INTEGER NOT NULL DEFAULT 0,
                        body TEXT NOT NULL
                    );
                    INSERT INTO critical_values_new SELECT id, exam_id, clinic_id, center_id, acknowledged, ack_due_at,
                                                           escalated, body FROM critical_values;
                    DROP TABLE critical_values;
                    ALTER TABLE critical_values_new RENAME TO critical_values;
                    CREATE INDEX critical_due ON critical_values(acknowledged, escalated, ack_due_at);
                    CREATE INDEX critical_clinic ON critical_values(clinic_id, id);
                    CREATE INDEX critical_center ON critical_values(center_id, id);

                    -- A delivery whose body is a stored blob (an attachment sent to a peer), sent from the file.
                    ALTER TABLE outbox ADD COLUMN body_file TEXT;
                    """)
        }
        migrator.registerMigration("v8_dicomweb") { db in
            // The DICOMweb index: one row per study, series and instance, kept up to date as instances are stored,
            // so searches never scan instances to answer at study or series level.
            try db.execute(
                sql: """
                    CREATE TABLE dicom_studies (
                        study_uid TEXT PRIMARY KEY NOT NULL,
                        owner TEXT NOT NULL,
                        exam_id TEXT,
                        patient_id TEXT,
                        patient_name TEXT,
                        study_date TEXT,
                        accession_number TEXT,
                        modalities TEXT NOT NULL DEFAULT '',
                        series_count INTEGER NOT NULL DEFAULT 0,
                        instance_count INTEGER NOT NULL DEFAULT 0,
                        updated_at INTEGER NOT NULL,
                        attributes TEXT NOT NULL
                    );
                    CREATE INDEX dicom_studies_owner ON dicom_studies(owner, study_uid);
                    CREATE INDEX dicom_studies_exam ON dicom_studies(exam_id);
                    CREATE INDEX dicom_studies_patient ON dicom_studies(patient_id);
                    CREATE INDEX dicom_studies_name ON dicom_studies(patient_name);
                    CREATE INDEX dicom_studies_date ON dicom_studies(study_date);
                    CREATE INDEX dicom_studies_accession ON dicom_studies(accession_number);
                    CREATE TABLE dicom_series (
                        series_uid TEXT PRIMARY KEY NOT NULL,
                        study_uid TEXT NOT NULL REFERENCES dicom_studies(study_uid),
                        modality TEXT,
                        series_number INTEGER,
                        instance_count INTEGER NOT NULL DEFAULT 0,
                        attributes TEXT NOT NULL
                    );
                    CREATE INDEX dicom_series_study ON dicom_series(study_uid, series_number);
                    CREATE INDEX dicom_series_modality ON dicom_series(modality);
                    CREATE TABLE dicom_instances (
                        sop_instance_uid TEXT PRIMARY KEY NOT NULL,
                        series_uid TEXT NOT NULL REFERENCES dicom_series(series_uid),
                        study_uid TEXT NOT NULL,
                        sop_class_uid TEXT,
                        instance_number INTEGER,
                        sha256 TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        transfer_syntax TEXT NOT NULL,
                        stored_at INTEGER NOT NULL,
                        metadata TEXT NOT NULL
                    );
                    CREATE INDEX dicom_instances_series ON dicom_instances(series_uid, instance_number);
                    CREATE INDEX dicom_instances_study ON dicom_instances(study_uid);
                    CREATE INDEX dicom_instances_class ON dicom_instances(sop_class_uid);
                    """)
        }
        migrator.registerMigration("v9_dicom_instance_attributes") { db in
            // The attributes a QIDO-RS instance search answers with by default, kept apart from the full metadata.
            try db.execute(sql: "ALTER TABLE dicom_instances ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}'")
        }
        migrator.registerMigration("v10_center_open_work") { db in
            // Each center's open exams, kept by triggers on every insert, change and removal of an exam, so routing
            // reads a count instead of counting the open exams on every submission.
            let open = "('waiting', 'claimed', 'awaiting-verification', 'preliminary')"
            try db.execute(
                sql: """
                    CREATE TABLE center_open_work (
                        center_id TEXT PRIMARY KEY NOT NULL,
                        open INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    INSERT INTO center_open_work (center_id, open)
                        SELECT center_id, COUNT(*) FROM exams
                        WHERE center_id IS NOT NULL AND step IN \(open) GROUP BY center_id;
                    CREATE TRIGGER exams_open_work_insert AFTER INSERT ON exams
                    WHEN NEW.center_id IS NOT NULL AND NEW.step IN \(open)
                    BEGIN
                        INSERT INTO center_open_work (center_id, open) VALUES (NEW.center_id, 1)
                            ON CONFLICT (center_id) DO UPDATE SET open = open + 1;
                    END;
                    CREATE TRIGGER exams_open_work_delete AFTER DELETE ON exams
                    WHEN OLD.center_id IS NOT NULL AND OLD.step IN \(open)
                    BEGIN
                        UPDATE center_open_work SET open = open - 1 WHERE center_id = OLD.center_id;
                    END;
                    CREATE TRIGGER exams_open_work_leave AFTER UPDATE OF center_id, step ON exams
                    WHEN OLD.center_id IS NOT NULL AND OLD.step IN \(open)
                    BEGIN
                        UPDATE center_open_work SET open = open - 1 WHERE center_id = OLD.center_id;
                    END;
                    CREATE TRIGGER exams_open_work_enter AFTER UPDATE OF center_id, step ON exams
                    WHEN NEW.center_id IS NOT NULL AND NEW.step IN \(open)
                    BEGIN
                        INSERT INTO center_open_work (center_id, open) VALUES (NEW.center_id, 1)
                            ON CONFLICT (center_id) DO UPDATE SET open = open + 1;
                    END;
                    """)
        }
        migrator.registerMigration("v11_blob_data") { db in
            // Small blobs (see InlineBlobs) kept beside the rows that refer to them, by their SHA-256.
            try db.execute(
                sql: """
                    CREATE TABLE blob_data (
                        sha256 TEXT PRIMARY KEY NOT NULL,
                        bytes BLOB NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v12_token_expiry") { db in
            // Tokens issued before this migration keep working without expiry (expires_at NULL). auth_changes counts
            // every write to tokens, practitioners and institutions, from any connection or process, so a hub can
            // notice changes made by another process (hubctl, a second hubd) to what its principal cache holds.
            try db.execute(
                sql: """
                    ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
                    CREATE TABLE auth_changes (
                        id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
                        generation INTEGER NOT NULL
                    );
                    INSERT INTO auth_changes (id, generation) VALUES (1, 0);
                    \(authChangeTriggers)
                    """)
        }
        migrator.registerMigration("v13_identifier_canonical_form") { db in
            // Work that needs more than SQL (the identifier key, say) and runs once at the next start, after the
            // migrations: a row names each task still to do and is deleted when it is done.
            try db.execute(
                sql: """
                    CREATE TABLE maintenance_tasks (
                        name TEXT PRIMARY KEY NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    INSERT INTO maintenance_tasks (name, created_at)
                        VALUES ('\(PatientRekey.task)', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
                    """)
        }
        migrator.registerMigration("v14_witnessed_audit_heads") { db in
            // The last signed audit head each peer showed in its directory: this hub witnesses the peer's chain end,
            // and the peer can ask for it back to check its own chain (see SignedAuditHead).
            try db.execute(
                sql: """
                    CREATE TABLE witnessed_audit_heads (
                        hub_id TEXT PRIMARY KEY NOT NULL,
                        seq INTEGER NOT NULL,
                        seen_at INTEGER NOT NULL,
                        body TEXT NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v15_dicom_nodes") { db in
            // The DICOM application entities of institutions: the DIMSE door knows a caller by its AE title, which
            // is unique in the hub, and by the address it comes from.
            try db.execute(
                sql: """
                    CREATE TABLE dicom_nodes (
                        id TEXT PRIMARY KEY NOT NULL,
                        institution_id TEXT NOT NULL REFERENCES institutions(id),
                        ae_title TEXT NOT NULL UNIQUE,
                        body TEXT NOT NULL
                    );
                    CREATE INDEX dicom_nodes_institution ON dicom_nodes(institution_id, id);
                    """)
        }
        migrator.registerMigration("v16_clinic_worklist") { db in
            // A clinic's modality worklist reads its exams by step and submission time, whatever its history.
            try db.execute(sql: "CREATE INDEX exams_clinic_step ON exams(clinic_id, step, submitted_at)")
        }
        migrator.registerMigration("v17_patient_index") { db in
            // The master patient index: each keyed identifier belongs to at most one person. The identifier itself is
            // kept beside its key because cross-referencing (PIX) answers with it. Demographic keys (name, birth date,
            // sex) only raise suggestions; separations are pairs of keys a person said belong to different people.
            try db.execute(
                sql: """
                    CREATE TABLE person_identifiers (
                        patient_key TEXT PRIMARY KEY NOT NULL,
                        person_id TEXT NOT NULL,
                        system TEXT NOT NULL,
                        value TEXT NOT NULL,
                        linked_at INTEGER NOT NULL,
                        source TEXT NOT NULL
                    );
                    CREATE INDEX person_identifiers_person ON person_identifiers(person_id);
                    CREATE TABLE person_demographics (
                        demographic_key TEXT NOT NULL,
                        person_id TEXT NOT NULL,
                        PRIMARY KEY (demographic_key, person_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX person_demographics_person ON person_demographics(person_id);
                    CREATE TABLE person_separations (
                        key_a TEXT NOT NULL,
                        key_b TEXT NOT NULL,
                        PRIMARY KEY (key_a, key_b)
                    ) WITHOUT ROWID;
                    CREATE TABLE person_reviews (
                        id TEXT PRIMARY KEY NOT NULL,
                        kind TEXT NOT NULL,
                        status TEXT NOT NULL,
                        person_a TEXT NOT NULL,
                        person_b TEXT NOT NULL,
                        body TEXT NOT NULL
                    );
                    CREATE INDEX person_reviews_pair ON person_reviews(person_a, person_b, kind, status);
                    CREATE INDEX person_reviews_status ON person_reviews(status, id);
                    INSERT INTO maintenance_tasks (name, created_at)
                        VALUES ('\(PatientIndexBackfill.task)', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
                    """)
        }
        migrator.registerMigration("v18_hl7") { db in
            // The HL7 applications of institutions (unique by sending application and facility, MSH-3 and MSH-4),
            // their code maps, the acknowledgement sent for each message (a message sent again gets it again and
            // changes nothing), and which result an order registered for an item (a corrected result replaces it).
            try db.execute(
                sql: """
                    CREATE TABLE hl7_applications (
                        id TEXT PRIMARY KEY NOT NULL,
                        institution_id TEXT NOT NULL REFERENCES institutions(id),
                        application TEXT NOT NULL,
                        facility TEXT NOT NULL,
                        body TEXT NOT NULL,
                        UNIQUE (application, facility)
                    );
                    CREATE INDEX hl7_applications_institution ON hl7_applications(institution_id, id);
                    CREATE TABLE code_maps (
                        institution_id TEXT PRIMARY KEY NOT NULL REFERENCES institutions(id),
                        body TEXT NOT NULL
                    );
                    CREATE TABLE hl7_messages (
                        application_id TEXT NOT NULL,
                        control_id TEXT NOT NULL,
                        received_at INTEGER NOT NULL,
                        answer BLOB NOT NULL,
                        PRIMARY KEY (application_id, control_id)
                    ) WITHOUT ROWID;
                    CREATE TABLE hl7_results (
                        institution_id TEXT NOT NULL,
                        order_number TEXT NOT NULL,
                        item_code TEXT NOT NULL,
                        result_id TEXT NOT NULL,
                        PRIMARY KEY (institution_id, order_number, item_code)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v19_hl7_message_digest") { db in
            // What a message said, beside the answer it got: the same control id with other content is another
            // message, refused, not answered as the first was. Answers are forgotten after a while (by received_at).
            try db.execute(
                sql: """
                    ALTER TABLE hl7_messages ADD COLUMN digest TEXT NOT NULL DEFAULT '';
                    CREATE INDEX hl7_messages_received ON hl7_messages(received_at);
                    """)
        }
        return migrator
    }

    /// `v12_token_expiry`'s triggers: every insert, update and delete on tokens, practitioners and institutions
    /// raises `auth_changes.generation`.
    static let authChangeTriggers = ["tokens", "practitioners", "institutions"].flatMap { table in
        ["insert", "update", "delete"].map { operation in
            """
            CREATE TRIGGER \(table)_auth_\(operation) AFTER \(operation.uppercased()) ON \(table)
            BEGIN UPDATE auth_changes SET generation = generation + 1 WHERE id = 1; END;
            """
        }
    }.joined(separator: "\n")
}
