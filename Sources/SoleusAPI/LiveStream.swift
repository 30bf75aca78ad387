import Foundation
import Hummingbird
import NIOCore
import SoleusDaemon
import SoleusRuntime

extension APIServer {
    /// Seconds between status messages on the live stream.
    static let streamPeriod = 0.25

    /// `GET /v1/stream`: server-sent events. `status` (a ``StatusReport``) four times a second,
    /// `session-event` for each event the running session logs (its last 20 first), `error` when
    /// the therapy process does not answer (or when 8 streams are open already, and the stream
    /// ends). A client that goes away only ends its own stream.
    func liveStream() throws -> Response {
        let path = settings.controlSocket, store = self.store, streams = self.streams
        let body = ResponseBody { writer in
            // Counted here, where it is also released: a stream whose body never runs holds no slot.
            guard streams.open(limit: Self.maxStreams) else {
                try await writer.write(Self.event("error", #"{"error":"\#(Self.maxStreams) live streams are open already; close one"}"#))
                try await writer.finish(nil)
                return
            }
            defer { streams.close() }
            var session: Int64?
            var lastRow: Int64 = 0
            while !Task.isCancelled {
                let reply = try? await blocking { try ControlChannel.send(ControlRequest(op: .status), to: path, timeout: 2) }
                guard let report = reply?.report else {
                    try await writer.write(Self.event("error", #"{"error":"the therapy process is not answering"}"#))
                    try await Task.sleep(for: .seconds(1))
                    continue
                }
                try await writer.write(Self.event("status", String(decoding: try WireJSON.encode(report), as: UTF8.self)))
                if let id = report.sessionId ?? report.lastSession?.id {
                    if id != session {
                        session = id
                        let all = (try? await blocking { try store.events(id, afterRow: 0, limit: 100_000) }) ?? []
                        lastRow = all.last?.row ?? 0
                        for e in all.suffix(20) { try await writer.write(Self.event("session-event", Self.eventJSON(e.event, session: id))) }
                    } else {
                        let from = lastRow
                        let new = (try? await blocking { try store.events(id, afterRow: from, limit: 500) }) ?? []
                        lastRow = new.last?.row ?? lastRow
                        for e in new { try await writer.write(Self.event("session-event", Self.eventJSON(e.event, session: id))) }
                    }
                }
                try await Task.sleep(for: .seconds(Self.streamPeriod))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    static func event(_ name: String, _ data: String) -> ByteBuffer {
        ByteBuffer(string: "event: \(name)\ndata: \(data)\n\n")
    }

    static func eventJSON(_ e: SessionEvent, session: Int64) -> String {
        let json = SampleText.json(e)
        return "{\"session_id\":\(session)," + json.dropFirst()
    }
}
