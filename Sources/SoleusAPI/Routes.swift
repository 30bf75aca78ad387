import Foundation
import Hummingbird
import NIOCore
import SoleusConfig
import SoleusCore
import SoleusDaemon
import SoleusRuntime

#if canImport(Glibc)
import Glibc
#endif

extension APIServer {
    /// Operator commands, each its own route (`POST /v1/session/<command>`).
    static let commands: [OperatorCommand] = [.stop, .pause, .resume, .acknowledge, .reset, .pauseAudio]

    func addRoutes(to router: Router<APIContext>) {
        router.get("/health") { _, _ in try await self.health() }
        router.get("/v1/status") { _, _ in try self.answer(try await self.control(ControlRequest(op: .status))) }
        router.get("/v1/protocols") { _, _ in
            jsonResponse(.ok, try await self.read { try $0.protocols().map { APIModel.ProtocolInfo($0, withText: false) } })
        }
        router.post("/v1/protocols") { request, context in try await self.upload(request, context) }
        router.get("/v1/protocols/:id") { _, context in
            let id = try Self.id(context)
            guard let p = try await self.read({ try $0.storedProtocol(id) }) else { throw APIError(.notFound, "no protocol \(id)") }
            return jsonResponse(.ok, APIModel.ProtocolInfo(p, withText: true))
        }
        router.delete("/v1/protocols/:id") { _, context in
            let id = try Self.id(context)
            guard try await self.read({ try $0.deleteProtocol(id) }) else { throw APIError(.notFound, "no protocol \(id)") }
            return Response(status: .noContent)
        }
        router.post("/v1/sessions") { request, context in try await self.start(request, context) }
        for cmd in Self.commands {
            router.post("/v1/session/\(cmd.rawValue)") { _, _ in
                // A stop waits for the vent (up to the vent timeout); the others answer at once.
                try self.answer(try await self.control(ControlRequest(op: .command, command: cmd.rawValue), timeout: cmd == .stop ? 60 : ControlChannel.ioTimeout))
            }
        }
        router.get("/v1/sessions") { _, _ in
            jsonResponse(.ok, try await self.read { store in
                try store.sessions().compactMap { r in (try? r.get()).map { APIModel.Session($0, withText: false) } }
            })
        }
        router.get("/v1/sessions/:id") { _, context in
            let s = try await self.session(try Self.id(context))
            return jsonResponse(.ok, APIModel.Session(s, withText: true))
        }
        router.get("/v1/sessions/:id/events") { _, context in
            let id = try Self.id(context)
            _ = try await self.session(id)
            return jsonResponse(.ok, try await self.read { try $0.events(id).map(APIModel.Event.init) })
        }
        router.get("/v1/sessions/:id/cycles") { _, context in
            let id = try Self.id(context)
            _ = try await self.session(id)
            return jsonResponse(.ok, try await self.read { try $0.summaries(id).map { APIModel.Cycle(chamber: $0.chamber, $0.summary) } })
        }
        router.get("/v1/sessions/:id/compressions") { _, context in
            let id = try Self.id(context)
            _ = try await self.session(id)
            return jsonResponse(.ok, try await self.read { try $0.compressions(id).map(APIModel.Compression.init) })
        }
        router.get("/v1/sessions/:id/samples") { request, context in try await self.samples(request, context) }
        router.get("/v1/stream") { _, _ in try self.liveStream() }
    }

    /// A path's `id`, a positive integer.
    static func id(_ context: APIContext) throws -> Int64 {
        let text = context.parameters.get("id") ?? ""
        guard let id = Int64(text), id > 0 else { throw APIError(.badRequest, "id must be a positive integer, not \"\(text.prefix(40))\"") }
        return id
    }

    func session(_ id: Int64) async throws -> SessionStore.SessionInfo {
        guard let s = try await read({ try $0.session(id) }) else { throw APIError(.notFound, "no session \(id)") }
        return s
    }

    func health() async throws -> Response {
        let therapy = (try? await blocking { [path = settings.controlSocket] in try ControlChannel.send(ControlRequest(op: .ping), to: path, timeout: 2) })
        return jsonResponse(.ok, APIModel.Health(status: "ok", therapy: therapy?.status == 200 ? "up" : "down", apiPid: getpid()))
    }

    // MARK: protocols

    /// Validates the uploaded TOML against this boot (the messages `soleus validate` prints,
    /// naming the `file` query parameter) and stores it under its name.
    func upload(_ request: Request, _ context: APIContext) async throws -> Response {
        let body = try await collect(request)
        // The label goes into every message line: no control characters (a newline would split one).
        let label = request.uri.queryParameters.get("file").map { String(String($0.prefix(200)).map { $0.isASCII && ($0.asciiValue ?? 0) < 32 ? "_" : $0 }) } ?? "upload.toml"
        guard let text = String(validating: Array(body.readableBytesView), as: UTF8.self) else {
            throw APIError(.unprocessableContent, "\(label) is not UTF-8 text", problems: ["\(label): is not UTF-8 text; save it as UTF-8"])
        }
        let profile = settings.profile
        let prepared: PreparedSession
        do {
            prepared = try await blocking { try PreparedSession.prepare(protocolText: text, label: label, profile: profile) }
        } catch let e as ConfigError {
            throw APIError(.unprocessableContent, "\(label) is not a valid protocol for \(profile.name)", problems: e.description.split(separator: "\n").map(String.init))
        }
        let name = prepared.plan.name
        let stored: StoredProtocol
        do { stored = try await blocking { [store] in try store.addProtocol(name: name, text: text) } } catch let e as ProtocolLibraryError {
            switch e {
            case .duplicateName: throw APIError(.conflict, e.description)
            case .store(let s): throw APIError(.internalServerError, s.description)
            }
        }
        return jsonResponse(.created, APIModel.ProtocolInfo(stored, withText: false, warnings: prepared.timingWarnings))
    }

    func collect(_ request: Request) async throws -> ByteBuffer {
        do { return try await request.body.collect(upTo: Self.maxBody) } catch {
            throw APIError(.contentTooLarge, "the request body is larger than \(Self.maxBody / 1024) KiB")
        }
    }

    // MARK: sessions

    func start(_ request: Request, _ context: APIContext) async throws -> Response {
        let body = try await collect(request)
        let start: APIModel.StartRequest
        do { start = try WireJSON.decode(APIModel.StartRequest.self, from: Data(body.readableBytesView)) } catch {
            throw APIError(.badRequest, "the body must be JSON like {\"protocol_id\": 1, \"level\": 2, \"minutes\": 30}: \(Self.describe(error))")
        }
        let r = ControlRequest(op: .start, protocolId: start.protocolId, level: start.level, minutes: start.minutes, cycles: start.cycles, limb: start.limb)
        return try answer(try await control(r, timeout: 30), success: .created)
    }

    /// A JSON decoding error in a sentence naming the key.
    static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let k, _): "\(snake(k.stringValue)) is missing"
        case .typeMismatch(_, let c), .valueNotFound(_, let c):
            c.codingPath.isEmpty ? c.debugDescription : "\(c.codingPath.map { snake($0.stringValue) }.joined(separator: ".")) has the wrong type or is null"
        case .dataCorrupted(let c):
            c.codingPath.isEmpty ? "not valid JSON" : "\(c.codingPath.map { snake($0.stringValue) }.joined(separator: ".")) is not a valid value (a whole number where one is asked for?)"
        default: "\(error)"
        }
    }

    /// A property name as it is on the wire (protocolId → protocol_id).
    static func snake(_ name: String) -> String {
        name.reduce(into: "") { out, ch in
            if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
        }
    }

    /// Streams a session's samples as CSV or JSON Lines, a page at a time (memory stays flat
    /// whatever the session's length).
    func samples(_ request: Request, _ context: APIContext) async throws -> Response {
        let id = try Self.id(context)
        let format = request.uri.queryParameters.get("format") ?? "csv"
        guard format == "csv" || format == "jsonl" else { throw APIError(.badRequest, "format must be csv or jsonl, not \"\(format.prefix(20))\"") }
        let s = try await session(id)
        let text = SampleText(chambers: s.chambers)
        let store = self.store
        let body = ResponseBody { writer in
            var after = -Double.infinity
            if format == "csv" { try await writer.write(ByteBuffer(string: text.csvHeader + "\n")) }
            while true {
                let from = after
                let page = try await blocking { try store.samples(id, after: from, limit: 2000) }
                guard let last = page.last else { break }
                after = last.time
                let lines = page.map { format == "csv" ? text.csv($0) : text.json($0) }.joined(separator: "\n") + "\n"
                try await writer.write(ByteBuffer(string: lines))
            }
            if format == "jsonl" {
                let events = try await blocking { try store.events(id) }
                if !events.isEmpty { try await writer.write(ByteBuffer(string: events.map(SampleText.json).joined(separator: "\n") + "\n")) }
            }
            try await writer.finish(nil)
        }
        let type = format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson"
        return Response(status: .ok, headers: [.contentType: type], body: body)
    }
}
