import BookingCore
import Yams

/// Reads Yams nodes for one file, turning every shape or value problem into a `ScenarioError`
/// at the node's own line and column. Values are named by their path (`users[0].room`) so a
/// message still makes sense when the line holds a whole flow mapping.
struct NodeReader {
    let file: String
    let variants: VariantRegistry

    func error(_ kind: ScenarioError.Kind, at mark: Mark?, _ message: String) -> ScenarioError {
        ScenarioError(kind: kind, file: file, line: mark?.line, column: mark?.column, message: message)
    }

    func error(_ kind: ScenarioError.Kind, line: Int?, column: Int?, _ message: String) -> ScenarioError {
        ScenarioError(kind: kind, file: file, line: line, column: column, message: message)
    }

    // MARK: Shapes

    func mapping(_ node: Node, _ path: String, allowed: [String]) throws(ScenarioError) -> Fields {
        guard case .mapping(let mapping) = node else {
            let subject = path.isEmpty ? "a scenario file" : quoted(path)
            throw error(.wrongType, at: node.mark, "\(subject) must be a mapping with keys \(allowed.joined(separator: ", ")); got \(describe(node))")
        }
        var entries: [(key: String, keyMark: Mark?, value: Node)] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                throw error(.wrongType, at: key.mark, "keys \(placeName(path)) must be plain words; got \(describe(key))")
            }
            guard allowed.contains(scalar.string) else {
                throw error(.unknownKey, at: key.mark, unknownKeyMessage(scalar.string, path: path, allowed: allowed))
            }
            entries.append((scalar.string, key.mark, value))
        }
        return Fields(path: path, mark: node.mark, entries: entries)
    }

    func sequence(_ node: Node, _ path: String, of what: String) throws(ScenarioError) -> [Node] {
        guard case .sequence(let sequence) = node else {
            throw error(.wrongType, at: node.mark, "\(quoted(path)) must be a list of \(what); got \(describe(node))")
        }
        return Array(sequence)
    }

    func scalar(_ node: Node, _ path: String, expected: String) throws(ScenarioError) -> String {
        guard case .scalar(let scalar) = node else {
            throw error(.wrongType, at: node.mark, "\(quoted(path)) must be \(expected); got \(describe(node))")
        }
        return scalar.string
    }

    // MARK: Values

    func string(_ node: Node, _ path: String) throws(ScenarioError) -> String {
        try scalar(node, path, expected: "text")
    }

    /// `limit`: the largest value and why (`ScenarioLimits`).
    func integer(_ node: Node, _ path: String, atLeast minimum: Int,
                 atMost limit: (maximum: Int, why: String)? = nil) throws(ScenarioError) -> Int {
        let text = try scalar(node, path, expected: "a whole number")
        guard let value = ValueSyntax.integer(text) else {
            throw error(.invalidValue, at: node.mark, "\(quoted(path)) must be a whole number; got \(quoted(text))")
        }
        guard value >= minimum else {
            throw error(.invalidValue, at: node.mark, "\(quoted(path)) must be at least \(minimum); got \(text)")
        }
        if let limit, value > limit.maximum {
            throw error(.invalidValue, at: node.mark, "\(quoted(path)) must be at most \(limit.maximum) (\(limit.why)); got \(text)")
        }
        return value
    }

    func unsigned(_ node: Node, _ path: String) throws(ScenarioError) -> UInt64 {
        let text = try scalar(node, path, expected: "a whole number")
        guard let value = ValueSyntax.unsigned(text) else {
            throw error(.invalidValue, at: node.mark, "\(quoted(path)) must be a whole number from 0 to \(UInt64.max); got \(quoted(text))")
        }
        return value
    }

    func duration(_ node: Node, _ path: String, positive: Bool = false) throws(ScenarioError) -> Duration {
        let expected = "a duration like 5ms, 1.5s or 200us"
        let text = try scalar(node, path, expected: expected)
        let value: Duration
        switch ValueSyntax.duration(text) {
        case .success(let duration): value = duration
        case .failure(.malformed):
            throw error(.invalidValue, at: node.mark, "\(quoted(path)) must be \(expected); got \(quoted(text))")
        case .failure(.negative):
            throw error(.invalidValue, at: node.mark, "\(quoted(path)) must not be negative; got \(quoted(text))")
        case .failure(.finerThanNanosecond):
            throw error(.invalidValue, at: node.mark, "\(quoted(path)) must be a whole number of nanoseconds; got \(quoted(text))")
        case .failure(.tooLarge):
            throw error(.invalidValue, at: node.mark, "\(quoted(path)) is too long (at most about 292 years); got \(quoted(text))")
        }
        if positive, value == .zero {
            throw error(.invalidValue, at: node.mark, "\(quoted(path)) must be longer than zero; got \(quoted(text))")
        }
        return value
    }

    func date(_ node: Node, _ path: String) throws(ScenarioError) -> Night {
        let text = try scalar(node, path, expected: "a date YYYY-MM-DD")
        switch ValueSyntax.date(text) {
        case .success(let night): return night
        case .failure(.malformed):
            throw error(.invalidValue, at: node.mark, "\(quoted(path)) must be a date YYYY-MM-DD like 2026-03-15; got \(quoted(text))")
        case .failure(.noSuchDay):
            throw error(.invalidValue, at: node.mark, "\(quoted(path)) must be a real calendar date; \(text) does not exist")
        }
    }

    func ratio(_ node: Node, _ path: String) throws(ScenarioError) -> (numerator: Int, denominator: Int) {
        let expected = "a ratio n/d like 1/100 with 0 <= n <= d and d > 0"
        let text = try scalar(node, path, expected: expected)
        guard let ratio = ValueSyntax.ratio(text), ratio.denominator > 0, ratio.numerator <= ratio.denominator else {
            throw error(.invalidValue, at: node.mark, "\(quoted(path)) must be \(expected); got \(quoted(text))")
        }
        return ratio
    }

    // MARK: Wording

    func quoted(_ text: String) -> String { "'\(text)'" }

    /// "at the top level" or "in 'lock'": where a key was found.
    func placeName(_ path: String) -> String { path.isEmpty ? "at the top level" : "in \(quoted(path))" }

    func describe(_ node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case .scalar(let scalar): isNull(node) ? "nothing" : quoted(scalar.string)
        }
    }

    private func unknownKeyMessage(_ key: String, path: String, allowed: [String]) -> String {
        var message = "unknown key \(quoted(key)) \(placeName(path))"
        if let suggestion = allowed.min(by: { editDistance(key, $0) < editDistance(key, $1) }),
           editDistance(key, suggestion) <= max(1, key.count / 3) {
            message += " (did you mean \(quoted(suggestion))?)"
        }
        return message + "; allowed keys: \(allowed.joined(separator: ", "))"
    }
}

/// A mapping whose keys were already checked against the allowed list; each appears once, since
/// Yams rejects repeated keys.
struct Fields {
    let path: String
    let mark: Mark?
    let entries: [(key: String, keyMark: Mark?, value: Node)]

    /// The value under `key`; `nil` when absent or written with no value (`key:` or `key: null`),
    /// so an optional key left empty takes its default.
    subscript(key: String) -> Node? {
        guard let value = entries.first(where: { $0.key == key })?.value, !isNull(value) else { return nil }
        return value
    }

    /// Where `key` itself is written, to refer to a section by its heading line.
    func keyMark(_ key: String) -> Mark? { entries.first(where: { $0.key == key })?.keyMark }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func required(_ key: String, _ reader: NodeReader, expected: String) throws(ScenarioError) -> Node {
        if let value = self[key] { return value }
        if let entry = entries.first(where: { $0.key == key }) {
            throw reader.error(.missingKey, at: entry.keyMark, "\(reader.quoted(childPath(key))) needs a value: \(expected)")
        }
        throw reader.error(.missingKey, at: mark, "\(reader.quoted(childPath(key))) is required \(reader.placeName(path)): \(expected)")
    }
}

func isNull(_ node: Node) -> Bool {
    // YAML's null spellings, unquoted only: `name: "null"` is a name.
    guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
    return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
}

/// Edit distance counting a swap of neighbours as one edit (optimal string alignment), since
/// `sede` for `seed` is the typo people make; for "did you mean" on unknown keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty, !b.isEmpty else { return a.count + b.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            d[i][j] = Swift.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                d[i][j] = Swift.min(d[i][j], d[i - 2][j - 2] + 1)
            }
        }
    }
    return d[a.count][b.count]
}

/// How large a scenario may be: past these, a run would not fit in memory (every user is a task
/// and an outcome; every night of the inventory a row per room) or would take days, so the file
/// is refused with the key and the limit rather than left to grow until the machine gives out.
enum ScenarioLimits {
    static let users = (maximum: 1_000_000, why: "the simulator keeps every user's task and outcome in memory")
    static let nights = (maximum: 3_660, why: "ten years; every night is a row per room in both databases")
    static let replicas = (maximum: 64, why: "each replica is a process of the simulated deployment")
    static let workers = (maximum: 10_000, why: "each worker serves one request at a time; past the users' count more change nothing")
    static let backlog = (maximum: 1_000_000, why: "the accept queue's length; the kernel caps a real one far lower (somaxconn)")
}
