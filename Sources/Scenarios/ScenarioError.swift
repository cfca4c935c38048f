import Foundation

/// Why a scenario file could not be loaded, and where.
///
/// Its description is `file:line:column: message`, the form compilers use, so editors and
/// terminals can jump to the spot. A problem with no place in the text (a missing file) prints
/// as `file: message`.
public struct ScenarioError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        /// No file at the path.
        case fileNotFound
        /// The path exists but is not a readable UTF-8 text file.
        case unreadableFile
        /// The text is not well-formed YAML.
        case syntax
        /// A required key is absent (or present with no value).
        case missingKey
        /// A key the format does not know: most often a typo.
        case unknownKey
        /// A value of the wrong shape: a list where a mapping belongs, and so on.
        case wrongType
        /// A value of the right shape that breaks a rule: a bad duration, an unknown room.
        case invalidValue
        /// Valid in the format but not implemented yet (fault injection).
        case unsupported
    }

    public var kind: Kind
    /// The file as the caller named it (or the label given to `ScenarioLoader.parse`).
    public var file: String
    /// 1-based; `nil` when the problem has no place in the text.
    public var line: Int?
    /// 1-based, counted in Unicode scalars as libyaml counts them.
    public var column: Int?
    /// What is wrong and what is expected, without the location prefix.
    public var message: String

    public init(kind: Kind, file: String, line: Int?, column: Int?, message: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        switch (line, column) {
        case let (line?, column?): "\(file):\(line):\(column): \(message)"
        case let (line?, nil): "\(file):\(line): \(message)"
        default: "\(file): \(message)"
        }
    }
}

// Foundation's `localizedDescription` would otherwise print "The operation could not be
// completed" for a CLI that reports errors that way.
extension ScenarioError: LocalizedError {
    public var errorDescription: String? { description }
}
