import CFuzzerDriver
import SoleusConfig

/// The protocol reader on any text (files are UTF-8 before they reach it).
func fuzzProtocol(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    _ = try? ProtocolFile.parse(text, file: "fuzz.toml")
    return 0
}

/// The entry point SwiftPM links for this executable: libFuzzer's driver, fed by ``fuzzProtocol``.
@_cdecl("fuzz_protocol_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    soleus_fuzz_main(argc, argv, { data, size in fuzzProtocol(data, size) })
}
