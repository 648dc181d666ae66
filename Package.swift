// swift-tools-version:6.2
import PackageDescription

/// One settings list for every target, so the whole package is held to the same language rules.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// Tests read more freely: they may use members of modules they reach through the libraries under test.
let testSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "AllianceHub",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hubd", targets: ["hubd"]),
        .executable(name: "hubctl", targets: ["hubctl"]),
        .library(name: "HubCore", targets: ["HubCore"]),
        .library(name: "HubStore", targets: ["HubStore"]),
        .library(name: "HubServer", targets: ["HubServer"]),
        .library(name: "CurlHTTP", targets: ["CurlHTTP"]),
        .library(name: "DICOM", targets: ["DICOM"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.86.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]
        ),
        .target(name: "CCurlShim", dependencies: ["CCurl"]),
        .target(
            name: "CurlHTTP",
            dependencies: [
                "CCurl",
                "CCurlShim",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // zlib serves only the Deflated Explicit VR Little Endian transfer syntax.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .target(
            name: "DICOM",
            dependencies: ["CZlib"],
            swiftSettings: swiftSettings,
            // glibc bundles iconv; Darwin ships it as a separate libiconv.
            linkerSettings: [.linkedLibrary("iconv", .when(platforms: [.macOS]))]
        ),
        // The DICOM upper layer and DIMSE messages (PS3.7, PS3.8) as values and bytes; no sockets.
        .target(
            name: "DIMSE",
            swiftSettings: swiftSettings
        ),
        // What the network doors share on SwiftNIO: the port they listen on, the idle timer, a registered host's
        // addresses.
        .target(
            name: "NetworkDoor",
            dependencies: [
                "HubFederation",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The DIMSE door: an SCP on SwiftNIO for modalities, archives and workstations, on the use cases.
        .target(
            name: "DICOMDoor",
            dependencies: [
                "DIMSE",
                "DICOM",
                "NetworkDoor",
                "HubCore",
                "HubConfig",
                "HubStorage",
                "HubUseCases",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // HL7 v2 messages (parsing, writing, acknowledgements) and MLLP framing as values and bytes; no sockets.
        .target(
            name: "HL7",
            swiftSettings: swiftSettings,
            linkerSettings: [.linkedLibrary("iconv", .when(platforms: [.macOS]))]
        ),
        // The MLLP door: a listener on SwiftNIO for laboratory and hospital information systems, on the use cases.
        .target(
            name: "HL7Door",
            dependencies: [
                "HL7",
                "NetworkDoor",
                "HubCore",
                "HubConfig",
                "HubStorage",
                "HubUseCases",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HubCore",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HubStorage",
            dependencies: [
                "HubCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HubStore",
            dependencies: [
                "HubCore",
                "HubStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // What hubd reads at start (flags, environment, YAML file, defaults): shared by hubd, hubctl and the tests, so
        // hubctl finds the hub's files exactly as hubd does without linking the HTTP server.
        .target(
            name: "HubConfig",
            dependencies: [
                "HubCore",
                "HubStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HubFederation",
            dependencies: [
                "HubCore",
                "HubStorage",
                "CurlHTTP",
                "HL7",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the hub does, one type per use case (exams, reading, results, recognition, registry, federation, DICOM):
        // each owns its transaction and its audit record. The HTTP routes, and any other door, call these.
        .target(
            name: "HubUseCases",
            dependencies: [
                "HubConfig",
                "HubCore",
                "HubStorage",
                "HubFederation",
                "CurlHTTP",
                "DICOM",
                "HL7",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The catalog files read at first start.
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HubServer",
            dependencies: [
                "DICOMDoor",
                "HL7Door",
                "HubUseCases",
                "HubConfig",
                "HubCore",
                "HubStore",
                "HubFederation",
                "CurlHTTP",
                "DICOM",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Resources/openapi.yaml"), .copy("Resources/Console")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hubd",
            dependencies: [
                "HubConfig",
                "HubServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hubctl",
            dependencies: [
                "HubConfig",
                "HubCore",
                "HubStore",
                // The hub's key signs backup manifests.
                "HubFederation",
                "CurlHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                // scrypt, for backups encrypted with a passphrase.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // Developer tools, never part of the hub at run time.
        .plugin(
            name: "ConfigReference",
            capability: .command(
                intent: .custom(
                    verb: "config-reference",
                    description:
                        "Regenerate the configuration key table in Config/README.md from HubConfiguration; --check only compares."
                ),
                permissions: [
                    .writeToPackageDirectory(reason: "rewrites the generated section of Config/README.md")
                ]
            )
        ),
        .testTarget(name: "HubCoreTests", dependencies: ["HubCore"], swiftSettings: testSettings),
        // What several test targets share: starting child processes without Foundation's Process, seeded randomness.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: testSettings),
        .testTarget(name: "DICOMTests", dependencies: ["DICOM", "TestSupport"], swiftSettings: testSettings),
        .testTarget(name: "HL7Tests", dependencies: ["HL7"], swiftSettings: testSettings),
        .testTarget(
            name: "DIMSETests", dependencies: ["DIMSE", "DICOM", "DICOMDoor"], swiftSettings: testSettings),
        .testTarget(
            name: "CurlHTTPTests",
            dependencies: [
                "CurlHTTP", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "HubStoreTests",
            dependencies: [
                "HubStore", "HubCore", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "HubServerTests",
            dependencies: [
                "HubServer", "HubUseCases", "HubConfig", "HubStore", "HubCore", "HubFederation", "CurlHTTP", "DICOM",
                "DICOMDoor", "DIMSE", "HL7", "HL7Door", "NetworkDoor", "TestSupport",
                "CZlib",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            // The web console's tests drive Chromium through this script.
            exclude: ["Console/console_driver.py", "HL7/hl7_exchange.py", "HL7/hl7_receiver.py"],
            swiftSettings: testSettings
        ),
    ]
)
