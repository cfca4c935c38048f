/// The command that replays a run, built in one place so the terminal and the HTML reports
/// print the same text.
public struct ReplayInvocation: Hashable, Sendable {
    public var executable: String
    public var scenarioPath: String
    /// Options that change what a seed means, already spelled as arguments.
    public var options: [String]

    public init(executable: String = "overbook", scenarioPath: String, variant: String? = nil, profile: String? = nil,
                swarm: Bool = false, unavailableMeans: String? = nil) {
        self.executable = executable
        self.scenarioPath = scenarioPath
        var options: [String] = []
        if let variant { options += ["--variant", variant] }
        if swarm { options.append("--swarm") } else if let profile { options += ["--profile", profile] }
        if let unavailableMeans { options += ["--unavailable-means", unavailableMeans] }
        self.options = options
    }

    /// `SCENARIO [--variant V] [--swarm | --profile P] [--unavailable-means M]`, shell-quoted.
    public var scenarioArguments: String { ([scenarioPath] + options).map(shellQuoted).joined(separator: " ") }

    /// `overbook replay SCENARIO ... --seed N`.
    public func seed(_ seed: UInt64) -> String { "\(executable) replay \(scenarioArguments) --seed \(seed)" }

    /// `overbook replay SCENARIO --schedule FILE` (a schedule file names its own variant and faults).
    public func schedule(_ path: String) -> String {
        "\(executable) replay \(shellQuoted(scenarioPath)) --schedule \(shellQuoted(path))"
    }
}

/// `argument` as a POSIX shell reads it back: unchanged when it is made of safe characters,
/// otherwise in single quotes.
public func shellQuoted(_ argument: String) -> String {
    let safe = !argument.isEmpty && argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }
    return safe ? argument : "'" + argument.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
}
