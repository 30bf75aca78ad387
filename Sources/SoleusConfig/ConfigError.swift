/// One problem in a configuration file (protocol or hardware profile).
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// Dotted key path (`cycle.chamber[1].target_mmHg`); empty for file-level problems.
    public var keyPath: String
    public var message: String
    /// 1-based position, for TOML syntax errors.
    public var line: Int?
    public var column: Int?

    public init(keyPath: String, message: String, line: Int? = nil, column: Int? = nil) {
        self.keyPath = keyPath
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        var s = ""
        if let line { s += "line \(line)" + (column.map { ", column \($0)" } ?? "") + ": " }
        if !keyPath.isEmpty { s += keyPath + ": " }
        return s + message
    }
}

/// A configuration file that cannot be used, with every problem found, each naming the file.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file as given by the user (path), or a label for in-memory text.
    public var file: String
    public var issues: [ConfigIssue]

    public init(file: String, issues: [ConfigIssue]) {
        self.file = file
        self.issues = issues
    }

    public init(file: String, _ message: String) {
        self.init(file: file, issues: [ConfigIssue(keyPath: "", message: message)])
    }

    /// One line per issue: `file: line L, column C: key.path: message`.
    public var description: String {
        issues.map { "\(file): \($0)" }.joined(separator: "\n")
    }
}
