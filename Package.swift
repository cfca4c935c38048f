// swift-tools-version:6.1
import PackageDescription

// Dependency direction (DESIGN.md section 3): a target imports only targets above it here,
// and declares every module it imports (scripts/check-imports.py, run by `make test`).
//   BookingCore                 domain, protocols, the algorithm variants (no I/O)
//   RunObservation              what a run showed, in either world; structured violations
//   Simulation                  the deterministic simulator and its models
//   Checking                    invariants, history checker, searches, shrinking, summaries
//   Scenarios                   YAML scenario files
//   Backends                    Redis over hiredis, PostgreSQL over libpq
//   Services                    the two HTTP services and the HTTP network adapter
//   Reports                     HTML reports
//   RealHarness                 throwaway servers, child services, the real driver
//   overbook                    the CLI: parses, wires, prints
let package = Package(
    name: "Overbook",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "overbook", targets: ["overbook"]),
        // For a package of its own that tests its booking design (see Examples/).
        .library(name: "BookingCore", targets: ["BookingCore"]),
        .library(name: "RunObservation", targets: ["RunObservation"]),
        .library(name: "Simulation", targets: ["Simulation"]),
        .library(name: "Checking", targets: ["Checking"]),
        .library(name: "Scenarios", targets: ["Scenarios"]),
        .library(name: "Reports", targets: ["Reports"]),
        .library(name: "RealHarness", targets: ["RealHarness"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.19.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.65.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        .target(name: "BookingCore"),
        .target(name: "RunObservation", dependencies: ["BookingCore"]),
        // The simulator's state is confined to one thread by construction: its hot classes mark
        // their stored properties `@exclusivity(unchecked)` rather than the target passing
        // `-enforce-exclusivity=unchecked`, an unsafe flag that would bar it as a dependency.
        .target(name: "Simulation", dependencies: ["BookingCore", "RunObservation"]),
        .target(name: "Checking", dependencies: ["BookingCore", "RunObservation", "Simulation"]),
        .target(name: "Scenarios", dependencies: ["BookingCore", .product(name: "Yams", package: "Yams")]),
        .target(name: "Reports", dependencies: ["BookingCore", "RunObservation", "Simulation", "Checking"]),
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CLibpq", path: "Sources/CLibpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "Backends", dependencies: ["BookingCore", "CHiredis", "CLibpq"]),
        .target(
            name: "Services",
            dependencies: [
                "BookingCore", "Backends",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .target(
            name: "RealHarness",
            dependencies: [
                "BookingCore", "RunObservation", "Simulation", "Checking", "Scenarios", "Backends", "Services", "Reports",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "overbook",
            dependencies: [
                "BookingCore", "RunObservation", "Simulation", "Checking", "Scenarios", "Reports", "Services", "Backends", "RealHarness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(name: "BookingCoreTests", dependencies: ["BookingCore"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "BookingCore"]),
        .testTarget(name: "CheckingTests", dependencies: ["Checking", "RunObservation", "Simulation", "BookingCore", "Scenarios"]),
        .testTarget(name: "ScenariosTests", dependencies: ["Scenarios", "BookingCore"]),
        .testTarget(name: "BackendsTests", dependencies: ["Backends", "BookingCore"]),
        .testTarget(name: "ContractTests", dependencies: ["Backends", "RunObservation", "Simulation", "BookingCore"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Checking", "RunObservation", "Simulation", "BookingCore"]),
        .testTarget(name: "OverbookTests", dependencies: ["overbook", .product(name: "Yams", package: "Yams")], exclude: ["Golden"]),
        .testTarget(
            name: "ServicesTests",
            dependencies: [
                "Services", "Backends", "BookingCore", "RealHarness", "Checking", "RunObservation",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
