import ArgumentParser
import SoleusConfig
import SoleusCore
import SoleusHardware
import SoleusRuntime

#if canImport(Glibc)
import Glibc
#endif

@main
struct Soleus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soleus",
        abstract: "Run, validate and review intermittent pneumatic compression sessions.",
        discussion: "Sessions are stored in SQLite under the data directory (--data, $SOLEUS_DATA, or ~/.local/share/soleus). With --device URL (or $SOLEUS_DEVICE) the session commands talk to a soleusd daemon instead; its token comes from $SOLEUS_TOKEN or ~/.config/soleus/client.toml.",
        subcommands: [
            Run.self, Validate.self, Sessions.self, Show.self, Export.self, Plot.self,
            Upload.self, Protocols.self, Start.self, Stop.self, Pause.self, Resume.self, Status.self, Ack.self, Reset.self, PauseAudio.self,
            Report.self, ScenarioCommand.self, HW.self, Sim.self, Info.self, Bench.self,
        ]
    )
}

/// The data directory option shared by commands that touch the session store.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Directory of the session database (default: $SOLEUS_DATA or ~/.local/share/soleus).")
    var data: String?

    var directory: String { data ?? defaultDataDirectory() }

    /// Opens the store for reading; sessions left without an end by a killed run are marked
    /// interrupted first (unless a run is in progress).
    func open() throws -> (SessionStore, SessionStore.Recovery) {
        ignoreFileSizeSignal()
        let store: SessionStore
        do { store = try SessionStore(directory: directory) } catch { throw CLIError(error.description) }
        return (store, store.recoverInterrupted())
    }

    /// Opens the store for a run: takes the directory's lock (refusing a second run) and marks
    /// sessions a killed run left without an end as interrupted.
    func openForRun() throws -> (SessionStore, DataDirectoryLock) {
        ignoreFileSizeSignal()
        do {
            let store = try SessionStore(directory: directory)
            let lock = try DataDirectoryLock.acquire(directory: directory)
            try store.markUnfinishedInterrupted()
            return (store, lock)
        } catch {
            throw CLIError("\(error.description); nothing was run")
        }
    }
}

/// An error printed as `error: message` with exit code 1, never a stack trace.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the linked hardware libraries and the data directory.")
    @OptionGroup var data: DataOptions

    func run() throws {
        print("libgpiod \(SystemLibraries.gpiodVersion) (\(SystemLibraries.gpiodIsV1 ? "v1 API" : "v2 API"))")
        print("libmodbus \(SystemLibraries.modbusVersion)")
        print("data directory \(data.directory)")
    }
}

/// A file-size limit (RLIMIT_FSIZE) must fail a write, as a full disk does, not kill the process
/// (SIGXFSZ's default), least of all in the middle of therapy.
func ignoreFileSizeSignal() {
    signal(SIGXFSZ, SIG_IGN)
}
