import ArgumentParser
import Foundation
import HubConfig
import HubServer
import Hummingbird
import Logging

/// `hubd`: the AllianceHub daemon.
@main
struct Hubd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hubd",
        abstract:
            "AllianceHub daemon: shared diagnostic centers, remote reading and result recognition for medical alliances.",
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the hub. Flags beat environment variables, which beat the configuration file.")

    @Option(help: "Configuration file (env HUB_CONFIG).") var config: String?
    @Option(help: "Listen address (env HUB_HOST).") var host: String?
    @Option(help: "Listen port, 0 for any free port (env HUB_PORT).") var port: Int?
    @Option(name: .customLong("dicom-port"), help: "DIMSE listen port, 0 for no DIMSE door (env HUB_DICOM_PORT).")
    var dicomPort: Int?

    @Option(name: .customLong("hl7-port"), help: "MLLP listen port, 0 for no HL7 door (env HUB_HL7_PORT).")
    var hl7Port: Int?
    @Option(name: .customLong("data-dir"), help: "Data directory (env HUB_DATA_DIR).") var dataDir: String?
    @Option(name: .customLong("hub-id"), help: "This hub's id among its peers (env HUB_ID).") var hubId: String?
    @Option(help: "GB/T 2260 division code the hub serves (env HUB_REGION).") var region: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (env HUB_LOG_LEVEL).")
    var logLevel: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let file = config ?? environment["HUB_CONFIG"] ?? "Config/hub.yaml"
        let explicit = config != nil || environment["HUB_CONFIG"] != nil
        let configuration: HubConfiguration
        do {
            configuration = try HubConfiguration.load(
                file: file, explicitFile: explicit, environment: environment,
                overrides: .init(
                    host: host, port: port, dataDir: dataDir, hubId: hubId, region: region, logLevel: logLevel,
                    dicomPort: dicomPort, hl7Port: hl7Port))
        } catch let problem as HubConfiguration.Problem {
            throw ValidationError(problem.description)
        }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "hubd")
        logger.logLevel = level
        if !FileManager.default.fileExists(atPath: file) {
            logger.warning("configuration file not found; using built-in defaults", metadata: ["hub.config": "\(file)"])
        }
        let hub = try buildHub(configuration, logger: logger)
        try await hub.app.runService()
    }
}
