// swift-tools-version:6.1
import PackageDescription

// A package of its own that tests a booking design with Overbook without forking it: it
// defines a variant (`CheckFirst`), then sweeps and model-checks it in the simulator.
let package = Package(
    name: "OverbookExamples",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Overbook", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "CheckFirst",
            dependencies: [
                .product(name: "BookingCore", package: "Overbook"),
                .product(name: "RunObservation", package: "Overbook"),
                .product(name: "Simulation", package: "Overbook"),
                .product(name: "Checking", package: "Overbook"),
                .product(name: "Scenarios", package: "Overbook"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
