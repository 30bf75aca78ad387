#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SoleusCore

/// Reads a whole text file, with a clear error naming it. Only a regular file of at most
/// ``InputLimits/maxFileBytes`` is read: a FIFO, a device (`/dev/zero`, `/dev/stdin` on a
/// terminal or pipe) or a directory is refused before anything is read, and the open itself
/// cannot block (O_NONBLOCK), so no path can hang or exhaust memory.
func readTextFile(_ path: String) throws(ConfigError) -> String {
    let bytes = try readFileBytes(path)
    guard let text = String(validating: bytes, as: UTF8.self) else {
        let at = firstInvalidUTF8(bytes) ?? 0
        throw ConfigError(file: path, "is not UTF-8 text (invalid byte at offset \(at)); save it as UTF-8")
    }
    return text
}

func readFileBytes(_ path: String) throws(ConfigError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { throw ConfigError(file: path, "cannot open: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw ConfigError(file: path, "cannot examine: \(String(cString: strerror(errno)))") }
    let type = st.st_mode & S_IFMT
    guard type == S_IFREG else {
        throw ConfigError(file: path, "is \(fileTypeName(type)), not a regular file; give the path of a .toml file")
    }
    let limit = InputLimits.maxFileBytes
    guard st.st_size <= limit else {
        throw ConfigError(file: path, "is \(st.st_size) bytes; files larger than \(limit) bytes (1 MiB) are refused")
    }
    // Read at most limit + 1 bytes: the file may have grown since fstat.
    var bytes = [UInt8](repeating: 0, count: limit + 1)
    var count = 0
    while count < bytes.count {
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress.map { $0 + count }, $0.count - count) }
        if n == 0 { break }
        if n < 0 {
            if errno == EINTR { continue }
            throw ConfigError(file: path, "read error: \(String(cString: strerror(errno)))")
        }
        count += n
    }
    guard count <= limit else {
        throw ConfigError(file: path, "grew past \(limit) bytes (1 MiB) while being read; files that large are refused")
    }
    bytes.removeSubrange(count...)
    return bytes
}

private func fileTypeName(_ type: mode_t) -> String {
    switch type {
    case S_IFDIR: "a directory"
    case S_IFIFO: "a FIFO (named pipe)"
    case S_IFCHR: "a character device"
    case S_IFBLK: "a block device"
    case S_IFSOCK: "a socket"
    default: "not a regular file"
    }
}
