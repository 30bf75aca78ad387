import CFuzzerDriver
import SoleusConfig
import SoleusCore

/// The protocol validator: any protocol that reads is validated against boots shaped and named as
/// the shipped profiles (1 to 8 chambers), with default and tight limits, and with
/// every intensity level override from -1 to 21.
func fuzzValidator(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self),
          let proto = try? ProtocolFile.parse(text, file: "fuzz.toml") else { return 0 }
    for boot in boots {
        _ = try? ProtocolValidator.plan(proto, for: boot)
    }
    for level in [-1, 0, 1, 7, 21] {
        _ = try? ProtocolValidator.plan(proto, for: boots[2], level: level)
    }
    return 0
}

let boots: [BootDescription] = [
    BootDescription(chambers: ["foot"], limits: BootLimits()),
    BootDescription(chambers: ["calf"], limits: BootLimits(ceiling: Pressure(mmHg: 60), maxSessionMinutes: 5, maxCompressionSeconds: 10)),
    BootDescription(chambers: ["ankle", "calf", "thigh"], limits: BootLimits()),
    BootDescription(chambers: ["foot", "calf", "knee", "thigh"], limits: BootLimits()),
    BootDescription(chambers: ["foot", "ankle", "calf", "knee", "thigh"], limits: BootLimits()),
    BootDescription(chambers: ["foot", "ankle", "lower-calf", "upper-calf", "knee", "lower-thigh", "mid-thigh", "upper-thigh"],
                    limits: BootLimits(maxSessionMinutes: 1440)),
]

/// The entry point SwiftPM links for this executable: libFuzzer's driver, fed by ``fuzzValidator``.
@_cdecl("fuzz_validator_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    soleus_fuzz_main(argc, argv, { data, size in fuzzValidator(data, size) })
}
