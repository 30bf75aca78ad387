import Crypto
import Foundation
import Hummingbird
import NIOCore
import SoleusDaemon
import Synchronization

/// The request context: who is asking (for the rate limit) and the body size allowed.
public struct APIContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's IP address, or "unix" / "unknown".
    public let remote: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remote = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Largest request body (a protocol file is far smaller).
    public var maxUploadSize: Int { APIServer.maxBody }
}

/// An error answered as `{"error": …, "problems": […]}` with its status.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String
    var problems: [String]?
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ message: String, problems: [String]? = nil) {
        self.status = status
        self.message = message
        self.problems = problems
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var r = jsonResponse(status, APIModel.Problem(error: message, problems: problems))
        for f in headers { r.headers.append(f) }
        return r
    }
}

/// A JSON response of `value` (snake_case keys).
func jsonResponse<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) -> Response {
    let data = (try? WireJSON.encode(value)) ?? Data(#"{"error":"the answer could not be encoded"}"#.utf8)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// Every route but the health check needs `Authorization: Bearer <token>`. Compared in constant
/// time (both sides hashed first, so not even the length leaks); a failure says only 401.
struct BearerAuth<Context: RequestContext>: RouterMiddleware {
    let tokenDigest: [UInt8]
    static var open: Set<String> { ["/health"] }

    init(token: String) { tokenDigest = Array(SHA256.hash(data: Data(token.utf8))) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.open.contains(request.uri.path) { return try await next(request, context) }
        // The scheme's name is case-insensitive (RFC 9110, 11.1); the token is not.
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer ",
              Self.constantTimeEqual(Array(SHA256.hash(data: Data(header.dropFirst(7).utf8))), tokenDigest)
        else {
            var e = APIError(.unauthorized, "unauthorized")
            e.headers = [.wwwAuthenticate: "Bearer"]
            throw e
        }
        return try await next(request, context)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

/// A token bucket per client address: `burst` requests at once, `perSecond` sustained; beyond
/// that 429 with Retry-After. The live stream counts once, when it opens.
final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var at: Double
    }

    let perSecond: Double
    let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = burst
    }

    func allow(_ client: String, now: Double = Date().timeIntervalSinceReferenceDate) -> Bool {
        buckets.withLock { all in
            // Forget idle clients so the table cannot grow without bound.
            if all.count > 4096 { all = all.filter { now - $0.value.at < 60 } }
            var b = all[client] ?? Bucket(tokens: burst, at: now)
            b.tokens = min(burst, b.tokens + (now - b.at) * perSecond)
            b.at = now
            let ok = b.tokens >= 1
            if ok { b.tokens -= 1 }
            all[client] = b
            return ok
        }
    }
}

struct RateLimit: RouterMiddleware {
    typealias Context = APIContext
    let limiter: RateLimiter

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        guard limiter.allow(context.remote) else {
            var e = APIError(.tooManyRequests, "too many requests; slow down")
            e.headers = [.retryAfter: "1"]
            throw e
        }
        return try await next(request, context)
    }
}

/// Turns any error a handler lets through into a JSON answer: an ``APIError`` as it is, anything
/// else as a 500 naming it (a handler bug is a clear error, never a dropped connection).
struct ErrorBody: RouterMiddleware {
    typealias Context = APIContext

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as APIError {
            throw e
        } catch let e as HTTPResponseError {
            // Hummingbird's own (404 no such route, 405, 413): same body shape as ours.
            throw APIError(e.status, e.status.reasonPhrase.lowercased())
        } catch {
            context.logger.error("request failed: \(error)")
            throw APIError(.internalServerError, "internal error: \(error)")
        }
    }
}
