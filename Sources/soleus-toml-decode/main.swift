// A TOML decoder with the toml-test interface, for testing Soleus's TOML reader against other
// implementations (scripts/toml-differential.py) and the TOML compliance suite.
//
//   soleus-toml-decode                 TOML on stdin → tagged JSON on stdout; exit 1 on a TOML error
//   soleus-toml-decode --batch FILE…   one JSON line per file: {"file","ok","value"|"error","limit"}
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SoleusConfig
import SoleusCore

func readAll(_ f: UnsafeMutablePointer<FILE>) -> [UInt8] {
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        bytes.append(contentsOf: buf[0..<n])
        if n < buf.count { return bytes }
    }
}

func printError(_ s: String) {
    var bytes = Array(s.utf8)
    _ = write(2, &bytes, bytes.count)
}

let args = Array(CommandLine.arguments.dropFirst())
if args.first == "--batch" {
    for path in args.dropFirst() {
        var line = "{\"file\":\(jsonQuoted(path)),"
        if let f = fopen(path, "rb") {
            let bytes = readAll(f)
            fclose(f)
            do {
                line += "\"ok\":true,\"value\":" + (try TOMLTaggedJSON.decode(bytes))
            } catch {
                line += "\"ok\":false,\"error\":\(jsonQuoted(error.message)),\"limit\":\(error.isLimit)"
            }
        } else {
            line += "\"ok\":false,\"error\":\"cannot open\",\"limit\":false"
        }
        print(line + "}")
    }
} else if args.isEmpty {
    do {
        guard let input = fdopen(0, "rb") else { exit(2) }
        print(try TOMLTaggedJSON.decode(readAll(input)))
    } catch {
        printError("soleus-toml-decode: \(error.message)\n")
        exit(1)
    }
} else {
    printError("usage: soleus-toml-decode [--batch FILE...]\n")
    exit(2)
}
