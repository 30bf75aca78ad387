import CFuzzerDriver
import SoleusConfig

/// The TOML reader on raw bytes (invalid UTF-8 included), as the decoder tool sees them.
func fuzzTOML(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    _ = try? TOMLTaggedJSON.decode(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// The entry point SwiftPM links for this executable: libFuzzer's driver, fed by ``fuzzTOML``.
@_cdecl("fuzz_toml_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    soleus_fuzz_main(argc, argv, { data, size in fuzzTOML(data, size) })
}
