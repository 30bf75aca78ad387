import Testing
import Foundation
import SoleusCore
@testable import SoleusRuntime

@Suite struct SessionStoreTests {
    @Test func aSessionRoundTripsThroughSQLite() throws {
        let dir = temporaryDirectory()
        let store = try SessionStore(directory: dir)
        var prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        prepared.plan.length = .cycles(2)
        let backend = try prepared.makeBackend()
        let result = try prepared.runner(backend: backend, sink: store, options: .init(speed: .max)).run()

        let info = try #require(try store.session(result.sessionID))
        #expect(info.endReason == "completed")
        #expect(info.protocolText == prepared.protocolText)
        #expect(info.protocolSHA256.count == 64)
        #expect(info.chambers == ["ankle", "calf", "thigh"])
        #expect(info.cyclesCompleted == 2)
        let summaries = try store.summaries(result.sessionID)
        #expect(summaries.count == 6)
        #expect(summaries.map(\.summary) == result.summaries)
        var samples: [SessionSample] = []
        try store.forEachSample(result.sessionID) { samples.append($0) }
        #expect(samples.count >= 2 * 60 * 20)
        // Float32 storage: within 0.01 mmHg.
        #expect(samples.contains { $0.outputs.pump })
        #expect(try store.events(result.sessionID).contains { $0.kind == "reached" && $0.chamber == "calf" })
    }

    @Test func hashIsTheSHA256OfTheProtocolText() throws {
        let store = try SessionStore(directory: temporaryDirectory())
        let header = SessionHeader(protocolName: "p", protocolPath: "p.toml", protocolText: "abc", profileName: "h", profilePath: "h.toml", profileText: "", backend: "b", chambers: ["a"], speed: "max", level: nil)
        let id = try store.begin(header)
        #expect(try store.session(id)?.protocolSHA256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func unfinishedSessionsAreMarkedInterruptedWithTheirLogKept() throws {
        let store = try SessionStore(directory: temporaryDirectory())
        let header = SessionHeader(protocolName: "p", protocolPath: "p.toml", protocolText: "x", profileName: "h", profilePath: "h.toml", profileText: "", backend: "b", chambers: ["a"], speed: "max", level: nil)
        let id = try store.begin(header)
        var batch = LogBatch()
        batch.events = [SessionEvent(time: 1, cycle: 1, kind: "inflate", chamber: "a", pressure: 40, message: "a inflates")]
        try store.append(batch, to: id)
        #expect(try store.markUnfinishedInterrupted() == 1)
        #expect(try store.session(id)?.endReason == "interrupted")
        #expect(try store.events(id).count == 1)
        #expect(try store.markUnfinishedInterrupted() == 0)
    }

    @Test func anUnwritableDataDirectoryIsAClearError() {
        #expect(throws: StoreError.self) { try SessionStore(directory: "/proc/soleus-cannot-be-here") }
    }
}
