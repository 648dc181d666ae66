import Foundation
import HubConfig
import HubCore
import HubUseCases
import Hummingbird

/// `HumanName`, as the hub knows a name: whole, in `text` (Chinese names are not split into given and family).
struct FHIRHumanName: Codable, Sendable, Equatable {
    var use: String?
    var text: String?
}

/// `Patient`: a person of the patient index, with every identifier linked to them and the demographics of their
/// latest record.
struct FHIRPatient: FHIRResource {
    var resourceType = "Patient"
    var id: String
    var identifier: [FHIRIdentifier]?
    var active: Bool?
    var name: [FHIRHumanName]?
    var gender: String?
    var birthDate: String?

    init(_ found: PatientQueries.Found) {
        id = FHIRID.of(found.person.id)
        let identifiers = found.person.identifiers.map {
            FHIRIdentifier(type: nil, system: FHIRSystem.patient($0.system), value: $0.value)
        }
        identifier = identifiers.isEmpty ? nil : identifiers
        active = true
        name = found.name.map { [FHIRHumanName(use: "official", text: $0)] }
        gender = found.sex?.rawValue
        birthDate = found.birthDate?.description
    }
}

/// `Parameters`, the answer of `$ihe-pix`: a `targetIdentifier` per identifier, and the `targetId` of the person.
struct FHIRParameters: Codable, Sendable {
    struct Parameter: Codable, Sendable {
        var name: String
        var valueIdentifier: FHIRIdentifier?
        var valueReference: FHIRReference?
    }

    var resourceType = "Parameters"
    var parameter: [Parameter]?
}

/// The patient index through FHIR: `Patient/{id}`, IHE PDQm's search (`Patient?identifier=` or the whole name with
/// `birthdate` and `gender`, as `PatientQueries.find` matches them) and IHE PIXm's `Patient/$ihe-pix`.
struct FHIRPatientRoutes {
    let patients: PatientQueries
    let config: HubConfiguration

    /// `system|value` of a token parameter, the system as a FHIR URI or the hub's own name.
    static func identifier(_ text: String, _ name: String) throws -> PatientIdentifier {
        guard let parsed = PatientIdentifier(query: text) else {
            throw HubError.validation(name, "use system|value, or a bare resident ID")
        }
        let identifier = PatientIdentifier(system: FHIRSystem.hub(fromFHIR: parsed.system), value: parsed.value)
        if let problem = identifier.problem { throw HubError.validation(name, problem) }
        return identifier
    }

    @Sendable func read(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        guard let personId = FHIRID.hubId(id), personId.hasPrefix("psn_") else {
            throw HubError.notFound("Patient", id)
        }
        return try FHIRController.response(FHIRPatient(try await patients.person(id: personId, for: context.caller)))
    }

    @Sendable func search(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let identifier = try request.query("identifier").map { try Self.identifier($0, "identifier") }
        let family = request.query("family")
        let given = request.query("given")
        let birthdate = request.query("birthdate")
        var demographics: Patient?
        if family != nil || given != nil || birthdate != nil || request.query("gender") != nil {
            guard let family, let birthdate else {
                throw HubError.validation(
                    family == nil ? "family" : "birthdate",
                    "a demographics search names family (and given), birthdate and gender; the hub matches them whole")
            }
            guard let date = CivilDate(birthdate) else {
                throw HubError.validation("birthdate", "'\(birthdate)' is not a date (YYYY-MM-DD)")
            }
            var patient = Patient(identifiers: [], name: Patient.name(family: family, given: given), birthDate: date)
            if let gender = request.query("gender") {
                guard let sex = Sex(rawValue: gender) else {
                    throw HubError.validation("gender", "'\(gender)' is not one of male, female, other, unknown")
                }
                patient.sex = sex
            }
            demographics = patient
        }
        guard identifier != nil || demographics != nil else {
            throw HubError.validation(
                "identifier", "a Patient search names an identifier, or family, given, birthdate and gender")
        }
        let found = try await patients.find(identifier: identifier, demographics: demographics, for: context.caller)
        let base = PublicURL.base(request, config) + FHIRController.base + "/Patient"
        var bundle = FHIRBundle<FHIRPatient>()
        bundle.total = found.count
        bundle.link = [.init(relation: "self", url: base + (request.uri.query.map { "?" + $0 } ?? ""))]
        if !found.isEmpty {
            bundle.entry = found.map {
                let patient = FHIRPatient($0)
                return .init(fullUrl: base + "/" + patient.id, resource: patient, search: .init(mode: "match"))
            }
        }
        return try FHIRController.response(bundle)
    }

    /// `$ihe-pix` (ITI-83): 404 when the hub knows no one by `sourceIdentifier`, 400 when its system is not a domain
    /// the hub knows, 403 when a `targetSystem` is not.
    @Sendable func pix(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        guard let source = request.query("sourceIdentifier") else {
            throw HubError.validation("sourceIdentifier", "is required: system|value")
        }
        let identifier = try Self.identifier(source, "sourceIdentifier")
        let targets = request.uri.queryParameters.getAll("targetSystem").flatMap {
            $0.split(separator: ",").map { FHIRSystem.hub(fromFHIR: String($0)) }
        }
        let found: PatientQueries.Found?
        do {
            found = try await patients.crossReference(
                identifier, systems: targets.isEmpty ? nil : Set(targets), for: context.caller)
        } catch PatientQueries.Unanswerable.unknownSource(let system) {
            throw HubError.validation(
                "sourceIdentifier", "'\(FHIRSystem.patient(system))' is not a domain the hub knows")
        } catch PatientQueries.Unanswerable.unknownTarget(let system) {
            throw HubError.forbidden("targetSystem '\(FHIRSystem.patient(system))' is not a domain the hub knows")
        }
        guard let found else { throw HubError.notFound("patient with identifier", source) }
        var parameters = found.person.identifiers.filter { $0.identifier != identifier }.map {
            FHIRParameters.Parameter(
                name: "targetIdentifier",
                valueIdentifier: FHIRIdentifier(type: nil, system: FHIRSystem.patient($0.system), value: $0.value))
        }
        parameters.append(
            .init(
                name: "targetId",
                valueReference: FHIRReference(reference: "Patient/" + FHIRID.of(found.person.id))))
        return try FHIRController.response(FHIRParameters(parameter: parameters))
    }
}
