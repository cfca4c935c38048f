/// The variants a run can name, each with what it prevents and costs: the command-line help,
/// the scenario loader and the matrix read it. A value, not a global: a package with variants
/// of its own builds a registry from `standard` plus its list and hands it to whatever parses
/// names (`ScenarioLoader.parse(yaml:file:variants:)`), so nothing registered elsewhere can
/// change a run.
public struct VariantRegistry: Sendable {
    public struct Entry: Sendable {
        public let variant: Variant
        /// One paragraph: what the variant prevents and what it costs.
        public let summary: String

        public init(_ variant: Variant, summary: String) {
            self.variant = variant
            self.summary = summary
        }
    }

    /// The listed variants, in the order the matrix compares them.
    public let entries: [Entry]

    /// The seed, each fix alone, and all the fixes together; with a built-in fix a new
    /// variant needs its file and one line here.
    public static let standard = try! VariantRegistry([
        Entry(.seed, summary: SeedFlow.summary),
        Entry(Variant(fixes: [.fenced]), summary: Fix.fenced.summary),
        Entry(Variant(fixes: [.atomic]), summary: Fix.atomic.summary),
        Entry(Variant(fixes: [.idempotent]), summary: Fix.idempotent.summary),
        Entry(Variant(fixes: [.crashSafe]), summary: Fix.crashSafe.summary),
        Entry(Variant(fixes: Set(Fix.allCases)), summary: "Every fix at once."),
        Entry(.lockFree, summary: FixedFlow.lockFreeSummary),
    ])

    /// Fails on a name listed twice or a name that cannot be written on the command line.
    public init(_ entries: [Entry]) throws(VariantRegistryError) {
        var seen: Set<String> = []
        for entry in entries {
            let name = entry.variant.rawValue
            // `+` joins built-in fixes; only their combinations may use it.
            let joinsFixes = name.contains("+") && entry.variant.fixes.isEmpty
            guard !name.isEmpty, !joinsFixes, !name.contains(","), !name.contains(where: \.isWhitespace) else { throw .unusableName(name) }
            guard seen.insert(name).inserted else { throw .duplicateName(name) }
        }
        self.entries = entries
    }

    /// This registry with `more` listed after its own entries.
    public func adding(_ more: [Entry]) throws(VariantRegistryError) -> VariantRegistry {
        try VariantRegistry(entries + more)
    }

    public var variants: [Variant] { entries.map(\.variant) }

    /// A listed variant, or any combination of the built-in fixes (`atomic+fenced`).
    public func variant(named name: String) -> Variant? {
        entries.first { $0.variant.rawValue == name }?.variant ?? Variant(rawValue: name)
    }

    /// What is wrong with `name` given to `option` (e.g. `--variant`), in the option's words;
    /// `nil` if it names a variant.
    public func problem(_ name: String, option: String = "--variant") -> String? {
        variant(named: name) == nil ? "\(option) must be \(syntax); got '\(name)'" : nil
    }

    /// What a name may be, for help texts and error messages.
    public var syntax: String {
        let standalone = entries.filter { $0.variant.fixes.isEmpty }.map(\.variant.rawValue)
        return (standalone + ["or fixes joined by '+' from: " + Fix.allCases.map(\.rawValue).joined(separator: ", ")]).joined(separator: ", ")
    }

    /// Each listed variant's name and paragraph, for `--help`.
    public var descriptions: String {
        entries.map { "\($0.variant.rawValue): \($0.summary)" }.joined(separator: "\n\n")
    }
}

public enum VariantRegistryError: Error, Hashable, Sendable, CustomStringConvertible {
    case duplicateName(String)
    case unusableName(String)

    public var description: String {
        switch self {
        case .duplicateName(let name): "variant '\(name)' is listed twice"
        case .unusableName(let name): "variant name '\(name)' cannot be written on the command line (empty, or with ',', '+' or spaces)"
        }
    }
}
