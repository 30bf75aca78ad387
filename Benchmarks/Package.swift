// swift-tools-version:6.1
// Benchmarks of the control tick (ordo-one/benchmark): time and allocations of one tick of the
// controller and the safety supervisor, at 3, 8, 24 and 32 chambers, and of the whole session
// loop's tick (simulated boot, controller, supervisor, outputs, records into the ring) at 3 and 8. Kept in their own package so
// the product and the test suite never build the benchmark framework. Run with
// `cd Benchmarks && swift package --disable-sandbox benchmark`; results in docs/performance.md.
import PackageDescription

let package = Package(
    name: "SoleusBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Soleus", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "TickBenchmark",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SoleusCore", package: "Soleus"),
                .product(name: "SoleusConfig", package: "Soleus"),
                .product(name: "SoleusRuntime", package: "Soleus"),
            ],
            path: "Benchmarks/TickBenchmark",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
