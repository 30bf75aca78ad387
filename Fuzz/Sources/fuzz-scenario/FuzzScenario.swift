import CFuzzerDriver
import SoleusConfig

/// The scenario reader on any text; relative protocol and profile paths resolve against the
/// repository's scenarios/ folder, so the shipped profiles are read as a real scenario would.
func fuzzScenario(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    _ = try? ScenarioFile.parse(text, file: "fuzz.toml", directory: scenariosDirectory)
    return 0
}

let scenariosDirectory: String = {
    var path = #filePath
    for _ in 0..<4 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
    return path + "/scenarios"
}()

/// The entry point SwiftPM links for this executable: libFuzzer's driver, fed by ``fuzzScenario``.
@_cdecl("fuzz_scenario_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    soleus_fuzz_main(argc, argv, { data, size in fuzzScenario(data, size) })
}
