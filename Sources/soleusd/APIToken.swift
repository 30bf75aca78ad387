import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The API's bearer token: 32 random bytes in hex, generated at first start into a file only the
/// daemon's user can read (0600), and read from it afterwards.
enum APIToken {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The token, and whether it was made now (then it is shown once, on standard output).
    static func ensure(_ path: String) throws -> (token: String, created: Bool) {
        if access(path, F_OK) == 0 { return (try read(path), false) }
        var rng = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &rng)) }.joined()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create the API token file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array((token + "\n").utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count, fsync(fd) == 0 else {
            unlink(path)
            throw Failure(description: "cannot write the API token file \(path): \(String(cString: strerror(errno)))")
        }
        return (token, true)
    }

    /// Reads the token, refusing a file others can read (the token would have leaked).
    static func read(_ path: String) throws -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { throw Failure(description: "cannot read the API token file \(path): \(String(cString: strerror(errno)))") }
        guard st.st_mode & 0o077 == 0 else {
            throw Failure(description: "the API token file \(path) can be read by other users (mode \(String(st.st_mode & 0o777, radix: 8))); run chmod 600 \(path), or delete it to have a new token made")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Failure(description: "cannot read the API token file \(path)")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.count >= 32, token.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw Failure(description: "the API token file \(path) does not hold a token of 32 characters or more; delete it to have a new one made")
        }
        return token
    }
}
