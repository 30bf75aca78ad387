// swift-tools-version:6.1
// libFuzzer targets for every reader of outside input. Built and run by scripts/fuzz with
// `-sanitize=fuzzer -parse-as-library`; kept in their own package so the product build never sees
// those flags. SwiftPM links an executable's entry point as `<module>_main`, so each target
// defines that and hands over to libFuzzer's driver (CFuzzerDriver). See docs/fuzzing.md.
import PackageDescription

let targets = ["fuzz-toml", "fuzz-protocol", "fuzz-profile", "fuzz-scenario", "fuzz-validator"]

let package = Package(
    name: "SoleusFuzz",
    dependencies: [.package(name: "Soleus", path: "..")],
    targets: [.target(name: "CFuzzerDriver")] + targets.map { name in
        .executableTarget(
            name: name, dependencies: ["CFuzzerDriver", .product(name: "SoleusConfig", package: "Soleus")],
            path: "Sources/\(name)")
    },
    swiftLanguageModes: [.v6]
)
