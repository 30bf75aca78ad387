import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Exclusive use of a data directory by the process that runs sessions in it: an advisory
/// `flock` on `soleus.lock`, which the kernel releases when the process ends in any way
/// (kill -9 included). While a run holds it, a session without an end is live; once nobody holds
/// it, such a session was interrupted. A second run on the same directory is refused with the
/// holder's pid instead of interleaving two sessions' writes.
public final class DataDirectoryLock: Sendable {
    private let fd: Int32
    /// The lock file.
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Takes the lock, waiting up to `wait` seconds for another holder to let go.
    public static func acquire(directory: String, wait: Double = 2) throws(StoreError) -> DataDirectoryLock {
        let path = (directory as NSString).appendingPathComponent("soleus.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StoreError("cannot create the lock file \(path): \(String(cString: strerror(errno)))")
        }
        var waited = 0.0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw StoreError("cannot lock \(path): \(reason)")
            }
            guard waited < wait else {
                let holder = holderPID(fd)
                close(fd)
                throw StoreError("the data directory \(directory) is in use by another soleus process\(holder.map { " (pid \($0))" } ?? ""); wait for its session to end, or use another --data directory")
            }
            usleep(50_000)
            waited += 0.05
        }
        // Record who holds it, for the message another process prints.
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        return DataDirectoryLock(fd: fd, path: path)
    }

    /// True when another process holds `directory`'s lock now.
    public static func heldByAnother(directory: String) -> Bool {
        let fd = open((directory as NSString).appendingPathComponent("soleus.lock"), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK
    }

    private static func holderPID(_ fd: Int32) -> Int? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buf, buf.count, 0)
        guard n > 0 else { return nil }
        return Int(String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// Where sessions are kept when nothing says otherwise: $SOLEUS_DATA, else $XDG_DATA_HOME/soleus,
/// else ~/.local/share/soleus (the CLI and the daemon agree on it).
public func defaultDataDirectory() -> String {
    if let env = getenv("SOLEUS_DATA") { return String(cString: env) }
    if let xdg = getenv("XDG_DATA_HOME") { return String(cString: xdg) + "/soleus" }
    return (getenv("HOME").map { String(cString: $0) } ?? ".") + "/.local/share/soleus"
}
