import Checking

/// What a report says about how it was made. The CLI fills it in (`ReportContext.current`):
/// rendering reads no clock, no environment and no git, so that it is a pure function of its inputs.
public struct ReportContext: Sendable {
    /// The command as the user typed it (shell-quoted), e.g. `overbook replay scenarios/x.yaml --seed 3`.
    public var commandLine: String
    /// The scenario file, as given on the command line.
    public var scenarioPath: String
    /// `git rev-parse --short HEAD` (plus `-dirty` when the tree has changes), or "unknown".
    public var gitCommit: String
    /// e.g. `Swift 6.3.1 (swift-6.3.1-RELEASE), x86_64-unknown-linux-gnu`.
    public var toolchain: String
    /// When the report was generated, as the caller wants it shown (e.g. ISO 8601 UTC).
    public var generatedAt: String
    /// The exact command that reproduces this run; by default `replayCommand(seed:)` of its seed.
    public var replayCommand: String?
    /// Wall-clock seconds the runs took (batch reports: seeds per second), if measured.
    public var wallSeconds: Double?
    /// How to call the tool in printed commands.
    public var executable: String

    public init(commandLine: String, scenarioPath: String, gitCommit: String = "unknown", toolchain: String = "unknown",
                generatedAt: String = "", replayCommand: String? = nil, wallSeconds: Double? = nil, executable: String = "overbook") {
        self.commandLine = commandLine
        self.scenarioPath = scenarioPath
        self.gitCommit = gitCommit
        self.toolchain = toolchain
        self.generatedAt = generatedAt
        self.replayCommand = replayCommand
        self.wallSeconds = wallSeconds
        self.executable = executable
    }

    /// `overbook replay SCENARIO --seed N`, shell-quoted.
    public func replayCommand(seed: UInt64) -> String {
        ReplayInvocation(executable: executable, scenarioPath: scenarioPath).seed(seed)
    }
}
