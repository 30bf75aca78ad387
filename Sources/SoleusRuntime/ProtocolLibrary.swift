import Foundation
import GRDB

/// A protocol stored in the daemon's library (uploaded through the API).
public struct StoredProtocol: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var text: String
    public var sha256: String
    public var uploadedAt: String
}

/// Why a protocol could not be added or removed.
public enum ProtocolLibraryError: Error, Equatable, CustomStringConvertible {
    case duplicateName(String, existing: Int64)
    case store(StoreError)

    public var description: String {
        switch self {
        case .duplicateName(let name, let id): "a protocol named \"\(name)\" is already stored (id \(id)); delete it first or rename the new one"
        case .store(let e): e.description
        }
    }
}

extension SessionStore {
    /// Stores a validated protocol under its name; names are unique.
    public func addProtocol(name: String, text: String) throws(ProtocolLibraryError) -> StoredProtocol {
        let hash = Self.sha256(text), at = Self.timestamp()
        do {
            return try db.write { db in
                if let existing = try Int64.fetchOne(db, sql: "SELECT id FROM protocol WHERE name = ?", arguments: [name]) {
                    throw ProtocolLibraryError.duplicateName(name, existing: existing)
                }
                try db.execute(sql: "INSERT INTO protocol (name, text, sha256, uploaded_at) VALUES (?, ?, ?, ?)", arguments: [name, text, hash, at])
                return StoredProtocol(id: db.lastInsertedRowID, name: name, text: text, sha256: hash, uploadedAt: at)
            }
        } catch let e as ProtocolLibraryError {
            throw e
        } catch {
            throw .store(StoreError(Self.explain(error, path: path, doing: "store a protocol in")))
        }
    }

    /// Every stored protocol, oldest first (the texts included).
    public func protocols() throws -> [StoredProtocol] {
        try reading("list the protocols of") { db in try Row.fetchAll(db, sql: "SELECT * FROM protocol ORDER BY id").map(Self.storedProtocol) }
    }

    public func storedProtocol(_ id: Int64) throws -> StoredProtocol? {
        try reading("read protocol \(id) from") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM protocol WHERE id = ?", arguments: [id]).map(Self.storedProtocol)
        }
    }

    /// Removes a protocol; false if there was none with that id. Sessions keep their own copy.
    public func deleteProtocol(_ id: Int64) throws -> Bool {
        do {
            return try db.write { db in
                try db.execute(sql: "DELETE FROM protocol WHERE id = ?", arguments: [id])
                return db.changesCount > 0
            }
        } catch {
            throw StoreError(Self.explain(error, path: path, doing: "delete a protocol from"))
        }
    }

    static func storedProtocol(_ r: Row) throws -> StoredProtocol {
        let id = try r.decode(Int64.self, forColumn: "id")
        let d = RowDecoder(row: r, what: "protocol \(id)")
        return StoredProtocol(id: id, name: try d.value("name"), text: try d.value("text"), sha256: try d.value("sha256"), uploadedAt: try d.value("uploaded_at"))
    }

    // MARK: paging, for streaming over the API

    /// Up to `limit` samples of session `id` later than `after` (seconds), in time order.
    public func samples(_ id: Int64, after: Double, limit: Int) throws -> [SessionSample] {
        var page: [SessionSample] = []
        try forEachSample(id, after: after, limit: limit) { page.append($0) }
        return page
    }

    /// Events of session `id` stored after the event with row id `afterRow`, with their row ids.
    public func events(_ id: Int64, afterRow: Int64, limit: Int = 1000) throws -> [(row: Int64, event: SessionEvent)] {
        try reading("read the events of session \(id) from") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM event WHERE session_id = ? AND id > ? ORDER BY id LIMIT ?", arguments: [id, afterRow, limit]).map {
                let d = RowDecoder(row: $0, what: "an event of session \(id)")
                return (try d.value("id"), SessionEvent(time: try d.value("t"), cycle: try d.value("cycle"), kind: try d.value("kind"),
                                                       chamber: try d.value("chamber"), pressure: try d.value("pressure"), message: try d.value("message")))
            }
        }
    }
}
