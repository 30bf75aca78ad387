// swift-tools-version:6.1
import PackageDescription

// Layers, innermost first: SoleusCore (pure, deterministic) → SoleusHardware (backends: gpio,
// modbus) → SoleusSimulation (physical boot model) → SoleusConfig (TOML files) → SoleusRuntime
// (session runner, storage) → executables.

// The control tick and the physics are optimised in debug builds too: the test suite runs
// thousands of simulated sessions (the single-fault sweep), ten times faster this way.
let optimisedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
let package = Package(
    name: "Soleus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "soleus", targets: ["soleus"]),
        .executable(name: "soleus-toml-decode", targets: ["soleus-toml-decode"]),
        // For the fuzzing package in Fuzz/.
        .library(name: "SoleusConfig", targets: ["SoleusConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // System C libraries (Debian bookworm: libgpiod 1.6 = v1 API, libmodbus 3.1).
        .systemLibrary(name: "CGPIOD", pkgConfig: "libgpiod", providers: [.apt(["libgpiod-dev"])]),
        .systemLibrary(name: "CModbus", pkgConfig: "libmodbus", providers: [.apt(["libmodbus-dev"])]),

        .target(name: "SoleusCore", swiftSettings: optimisedInDebug),
        .target(
            name: "SoleusConfig",
            dependencies: ["SoleusCore", "SoleusHardware", "SoleusSimulation"]
        ),
        .target(name: "SoleusHardware", dependencies: ["SoleusCore", "CGPIOD", "CModbus"]),
        .target(name: "SoleusSimulation", dependencies: ["SoleusCore", "SoleusHardware"], swiftSettings: optimisedInDebug),
        .target(
            name: "SoleusRuntime",
            dependencies: [
                "SoleusCore", "SoleusConfig", "SoleusHardware", "SoleusSimulation",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "soleus",
            dependencies: [
                "SoleusCore", "SoleusConfig", "SoleusHardware", "SoleusSimulation", "SoleusRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Development tool: the TOML reader behind the toml-test interface.
        .executableTarget(name: "soleus-toml-decode", dependencies: ["SoleusCore", "SoleusConfig"]),

        .testTarget(name: "SoleusCoreTests", dependencies: ["SoleusCore"]),
        .testTarget(name: "SoleusCLITests", dependencies: ["soleus"]),
        .testTarget(name: "SoleusConfigTests", dependencies: ["SoleusConfig"]),
        .testTarget(name: "SoleusSimulationTests", dependencies: ["SoleusSimulation"]),
        .testTarget(
            name: "SoleusRuntimeTests",
            dependencies: ["SoleusRuntime", "SoleusConfig", "SoleusSimulation"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
