// swift-tools-version:6.1
import PackageDescription

// Dependency direction (DESIGN.md section 3): a target never imports one listed above it.
//   BookingCore <- Simulation <- Checking <- Reports <- overbook
//   BookingCore <- Scenarios (YAML)
//   BookingCore, CHiredis, CLibpq <- Backends
let package = Package(
    name: "Overbook",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "overbook", targets: ["overbook"]),
        // For a package of its own that tests its booking design (see Examples/).
        .library(name: "BookingCore", targets: ["BookingCore"]),
        .library(name: "Simulation", targets: ["Simulation"]),
        .library(name: "Checking", targets: ["Checking"]),
        .library(name: "Scenarios", targets: ["Scenarios"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.19.0"),
    ],
    targets: [
        .target(name: "BookingCore"),
        // The simulator's state is confined to one thread by construction: its hot classes mark
        // their stored properties `@exclusivity(unchecked)` rather than the target passing
        // `-enforce-exclusivity=unchecked`, an unsafe flag that would bar it as a dependency.
        .target(name: "Simulation", dependencies: ["BookingCore"]),
        .target(name: "Checking", dependencies: ["BookingCore", "Simulation"]),
        .target(name: "Scenarios", dependencies: ["BookingCore", .product(name: "Yams", package: "Yams")]),
        .target(name: "Reports", dependencies: ["BookingCore", "Checking"]),
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CLibpq", path: "Sources/CLibpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "Backends", dependencies: ["BookingCore", "CHiredis", "CLibpq"]),
        .target(
            name: "Services",
            dependencies: [
                "BookingCore", "Backends",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "overbook",
            dependencies: [
                "BookingCore", "Simulation", "Checking", "Scenarios", "Reports", "Services", "Backends",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(name: "BookingCoreTests", dependencies: ["BookingCore"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "BookingCore"]),
        .testTarget(name: "CheckingTests", dependencies: ["Checking", "Simulation", "BookingCore", "Scenarios"]),
        .testTarget(name: "ScenariosTests", dependencies: ["Scenarios", "BookingCore"]),
        .testTarget(name: "BackendsTests", dependencies: ["Backends", "BookingCore"]),
        .testTarget(name: "ContractTests", dependencies: ["Backends", "Simulation", "BookingCore"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Checking", "BookingCore"]),
        .testTarget(name: "OverbookTests", dependencies: ["overbook"]),
        .testTarget(
            name: "ServicesTests",
            dependencies: [
                "Services", "Backends", "BookingCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
