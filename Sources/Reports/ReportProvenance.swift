import Checking
import Foundation

extension ReportContext {
    /// The context of a report this process writes now: the command line as typed (the
    /// executable's path shown as `overbook`), the working directory's git commit, the
    /// toolchain and the time. The only place Reports reads the environment, so that every
    /// `html(...)` stays a pure function of the context it is given.
    public static func current(scenarioPath: String, replayCommand: String?, wallSeconds: Double? = nil) -> ReportContext {
        ReportContext(commandLine: CommandLine.arguments.map(shellQuoted).joined(separator: " ").replacingOccurrences(of: CommandLine.arguments[0], with: "overbook"),
                      scenarioPath: scenarioPath, gitCommit: currentGitCommit, toolchain: currentToolchain,
                      generatedAt: ISO8601DateFormatter().string(from: Date()), replayCommand: replayCommand, wallSeconds: wallSeconds)
    }

    static let currentToolchain: String = {
        #if compiler(>=6.3)
        "Swift 6.3 or later"
        #else
        "Swift 6"
        #endif
    }()

    /// `git describe --always --dirty --abbrev=12` of the working directory, read once.
    static let currentGitCommit: String = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "describe", "--always", "--dirty", "--abbrev=12"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "unknown" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !text.isEmpty ? text : "unknown"
    }()
}
