import Foundation
import ArgumentParser
import BookingCore
import Checking
import RealHarness
import Scenarios
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Terminal output helpers: the CLI's only side effects besides files.
enum Console {
    /// Lines on stdout; progress and error messages on stderr, redrawn in place on a terminal.
    static let output = CommandOutput(line: { print($0) }, progress: progress, error: error, flush: { fflush(nil) }, onTerminal: isatty(STDERR_FILENO) == 1)

    static func error(_ message: String) { progress("error: \(message)\n") }

    /// Something the user should know that does not stop the command (nor change its exit status).
    static func warning(_ message: String) { progress("warning: \(message)\n") }

    static func progress(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}

/// `body`'s value; an error of type `E` instead ends the command with its description as an
/// error message and exit status 2 (bad input or a broken environment, not a finding).
func exitingWithStatus2<T, E: Error & CustomStringConvertible>(on _: E.Type, _ body: () throws -> T) throws -> T {
    try exitingWithStatus2(describing: { ($0 as? E)?.description }, body)
}

/// `body`'s value; an error that `describe` puts into words instead ends the command with those
/// words as an error message and exit status 2. Other errors propagate as they are.
func exitingWithStatus2<T>(describing describe: (any Error) -> String?, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        guard let message = describe(error) else { throw error }
        Console.error(message)
        throw ExitCode(2)
    }
}

/// `resolve`'s value; an error of type `E` instead is a usage error with its description, after
/// `option: ` when given (the usage is shown, exit status 64).
func asUsageError<T, E: Error & CustomStringConvertible>(on _: E.Type, option: String? = nil, _ resolve: () throws -> T) throws -> T {
    do {
        return try resolve()
    } catch let error as E {
        throw ValidationError((option.map { "\($0): " } ?? "") + error.description)
    }
}

/// Loads a scenario or exits with the loader's file:line:column message.
func loadScenario(_ path: String) throws -> Scenario {
    try exitingWithStatus2(on: ScenarioError.self) { try ScenarioLoader.load(path: path) }
}

/// The real stack for `body` (see `RealSession`), its progress on stderr; a set-up failure is
/// an error message and exit status 2.
func withRealStack<T: Sendable>(_ locations: BackendLocations, scenarios: [Scenario], users: Int, armFaults: Bool = false, recordTimings: Bool = false,
                                command: String = "real", _ body: @escaping @Sendable (RealStack) async throws -> T) throws -> T {
    try realSession(command) {
        try RealSession.with(locations, scenarios: scenarios, users: users, armFaults: armFaults, recordTimings: recordTimings, progress: $0, body)
    }
}

/// Runs a `RealSession` call with `overbook COMMAND: ...` progress lines on stderr; a set-up
/// failure is an error message and exit status 2.
func realSession<T>(_ command: String, _ session: (_ progress: @escaping @Sendable (String) -> Void) throws -> T) throws -> T {
    try exitingWithStatus2(on: RealModeError.self) { try session { Console.progress("overbook \(command): \($0)\n") } }
}

/// A usage error (the usage is shown, exit status 64) when the library names a problem with the options.
func refuse(_ problem: String?) throws {
    if let problem { throw ValidationError(problem) }
}
