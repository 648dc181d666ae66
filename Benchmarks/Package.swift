// swift-tools-version:6.2
import PackageDescription

// The benchmark harness's own tool, kept out of the product package: it depends on the product by path and
// uses only its libcurl client. `Benchmarks/run` builds it in release; nothing here ships.
// SwiftPM names a path dependency after its folder (the clone's directory name, `main` here but not everywhere),
// not after the `name:` in its manifest, so the product package's identity is read off this file's own path.
let productPackage: String = {
    let parts = "\(#filePath)".split(separator: "/")
    return parts.count >= 3 ? String(parts[parts.count - 3]).lowercased() : "main"
}()

let package = Package(
    name: "AllianceHubBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .executableTarget(
            name: "hubbench",
            dependencies: [
                .product(name: "CurlHTTP", package: productPackage),
                .product(name: "DICOM", package: productPackage),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [
                .swiftLanguageMode(.v6),
                .enableUpcomingFeature("ExistentialAny"),
            ]
        )
    ]
)
