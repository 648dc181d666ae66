import HubCore
import HubStorage

/// Which side of the exam the caller is on.
public enum ExamSide: Sendable {
    case clinic, center
}

/// Who may see an exam and act on it: the staff of its submitting clinic and of its reading center.
public struct ExamAccess: Sendable {
    public init() {}

    /// Whether the caller sees the exam as its clinic or as staff of its center; neither is a 403. Staff who are
    /// both (a hospital that submits to a center it hosts) are on the side `preferred` asks for.
    public func side(
        of principal: Principal, for exam: Exam, _ db: any StoreReader, preferring preferred: ExamSide = .clinic
    ) throws -> ExamSide {
        let clinic = principal.institutionId == exam.clinicId && principal.roles.contains(.clinic)
        var center = false
        if let centerId = exam.centerId, !principal.roles.isDisjoint(with: [.reader, .verifier]),
            let host = try db.center(id: centerId), host.institutionId == principal.institutionId
        {
            center = true
        }
        switch (clinic, center) {
        case (true, true): return preferred
        case (true, false): return .clinic
        case (false, true): return .center
        case (false, false):
            throw HubError.forbidden("only the submitting clinic and the reading center may see this exam")
        }
    }

    /// The exam, when it exists (else a 404) and the caller is on one of its sides (else a 403).
    func exam(_ id: String, for principal: Principal, _ db: any StoreReader) throws -> Exam {
        guard let exam = try db.exam(id: id) else { throw HubError.notFound("exam", id) }
        _ = try side(of: principal, for: exam, db)
        return exam
    }
}
