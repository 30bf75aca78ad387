// swift-tools-version:6.1
import PackageDescription

// Layers, innermost first: SoleusCore (pure, deterministic) → SoleusHardware (backends: gpio,
// modbus) → SoleusSimulation (physical boot model) → SoleusConfig (TOML files) → SoleusRuntime
// (session runner, storage) → executables.

// Every target is optimised in debug builds too: the test suite runs thousands of simulated
// sessions (the single-fault sweep), ten times faster this way. All of them, not only the hot ones:
// mixing -O and -Onone modules miscompiled calls that pass the 32-chamber inline values across
// the module boundary (a jump to address 0 in the test suite; docs/architecture.md).
let optimisedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
let package = Package(
    name: "Soleus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "soleus", targets: ["soleus"]),
        .executable(name: "soleusd", targets: ["soleusd"]),
        .executable(name: "soleus-toml-decode", targets: ["soleus-toml-decode"]),
        // For the fuzzing package in Fuzz/ and the benchmarks in Benchmarks/.
        .library(name: "SoleusConfig", targets: ["SoleusConfig"]),
        .library(name: "SoleusCore", targets: ["SoleusCore"]),
        .library(name: "SoleusRuntime", targets: ["SoleusRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // System C libraries (Debian bookworm: libgpiod 1.6 = v1 API, libmodbus 3.1).
        .systemLibrary(name: "CGPIOD", pkgConfig: "libgpiod", providers: [.apt(["libgpiod-dev"])]),
        .systemLibrary(name: "CModbus", pkgConfig: "libmodbus", providers: [.apt(["libmodbus-dev"])]),

        .target(name: "SoleusCore", swiftSettings: optimisedInDebug),
        .target(
            name: "SoleusConfig",
            dependencies: ["SoleusCore", "SoleusHardware", "SoleusSimulation"], swiftSettings: optimisedInDebug
        ),
        .target(name: "SoleusHardware", dependencies: ["SoleusCore", "CGPIOD", "CModbus"], swiftSettings: optimisedInDebug),
        .target(name: "SoleusSimulation", dependencies: ["SoleusCore", "SoleusHardware"], swiftSettings: optimisedInDebug),
        // Test doubles (a scripted libgpiod) for the tests only: the daemon and the CLI never link it.
        .target(name: "SoleusTestSupport", dependencies: ["SoleusHardware"], swiftSettings: optimisedInDebug),
        .target(
            name: "SoleusRuntime",
            dependencies: [
                "SoleusCore", "SoleusConfig", "SoleusHardware", "SoleusSimulation",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: optimisedInDebug
        ),
        // The therapy side of the daemon: one session at a time, its command channel, the watchdog.
        .target(
            name: "SoleusDaemon",
            dependencies: ["SoleusCore", "SoleusConfig", "SoleusHardware", "SoleusRuntime", .product(name: "Logging", package: "swift-log")],
            swiftSettings: optimisedInDebug
        ),
        // The daemon's API side (its own process): HTTP on Hummingbird, talking to the therapy side.
        .target(
            name: "SoleusAPI",
            dependencies: [
                "SoleusCore", "SoleusConfig", "SoleusRuntime", "SoleusDaemon",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: optimisedInDebug
        ),
        .executableTarget(
            name: "soleus",
            dependencies: [
                "SoleusCore", "SoleusConfig", "SoleusHardware", "SoleusSimulation", "SoleusRuntime",
                "SoleusDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: optimisedInDebug
        ),
        .executableTarget(
            name: "soleusd",
            dependencies: [
                "SoleusCore", "SoleusConfig", "SoleusHardware", "SoleusRuntime", "SoleusDaemon", "SoleusAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: optimisedInDebug
        ),

        // Development tool: the TOML reader behind the toml-test interface.
        .executableTarget(name: "soleus-toml-decode", dependencies: ["SoleusCore", "SoleusConfig"], swiftSettings: optimisedInDebug),

        .testTarget(name: "SoleusCoreTests", dependencies: ["SoleusCore"], swiftSettings: optimisedInDebug),
        .testTarget(name: "SoleusCLITests", dependencies: ["soleus"], swiftSettings: optimisedInDebug),
        // Runs the daemon and the CLI binaries as a user would.
        .testTarget(name: "SoleusDaemonTests", dependencies: ["soleus", "soleusd", "SoleusRuntime", "SoleusDaemon"], swiftSettings: optimisedInDebug),
        .testTarget(name: "SoleusConfigTests", dependencies: ["SoleusConfig"], swiftSettings: optimisedInDebug),
        .testTarget(name: "SoleusHardwareTests", dependencies: ["SoleusHardware", "SoleusTestSupport"], swiftSettings: optimisedInDebug),
        .testTarget(name: "SoleusSimulationTests", dependencies: ["SoleusSimulation"], swiftSettings: optimisedInDebug),
        .testTarget(
            name: "SoleusRuntimeTests",
            dependencies: ["SoleusRuntime", "SoleusConfig", "SoleusSimulation"], swiftSettings: optimisedInDebug
        ),
    ],
    swiftLanguageModes: [.v6]
)
