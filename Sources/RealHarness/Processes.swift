import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs async work on the cooperative pool and blocks the calling thread until it ends, for
/// synchronous callers (the CLI's commands). The caller must not be a pool thread, or it could
/// starve the pool.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        outcome.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    return try outcome.withLock { $0! }.get()
}

/// A port on 127.0.0.1 that was free a moment ago, below the kernel's ephemeral range
/// (`ip_local_port_range`): the kernel hands out ports of that range to every outgoing connection
/// and every bind to port 0, so a server restarted on an ephemeral port can find it taken by a
/// client socket of anyone's, while a port below the range is only ever taken by a bind that
/// names it. Another process may still take it before the server binds it; callers retry on
/// another port when the server does not come up.
public func freeLoopbackPort() throws(RealModeError) -> Int {
    let (ephemeralLow, _) = ephemeralPortRange()
    let candidates = 10_000..<max(10_001, ephemeralLow)
    for _ in 0..<200 {
        let port = Int.random(in: candidates)
        if try canBindLoopback(port: port) { return port }
    }
    throw RealModeError("no free port on 127.0.0.1 in \(candidates.lowerBound)...\(candidates.upperBound - 1) after 200 tries")
}

/// The kernel's ephemeral port range; Linux's default when it cannot be read.
func ephemeralPortRange() -> (Int, Int) {
    let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
    let numbers = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
    return numbers.count == 2 ? (numbers[0], numbers[1]) : (32_768, 60_999)
}

/// Whether 127.0.0.1:`port` can be bound now (with SO_REUSEADDR, as servers bind).
func canBindLoopback(port: Int) throws(RealModeError) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw RealModeError("could not open a socket to find a free port (errno \(errno))") }
    defer { close(fd) }
    var reuse: Int32 = 1
    _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return bound == 0
}

/// Something real mode could not set up or keep running; the message says what to do.
public struct RealModeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Starts child processes from one thread that lives as long as the program.
///
/// Children get a parent-death signal (`setpriv --pdeathsig`) so that even a `kill -9` of
/// `overbook` does not leave servers behind. Linux sends that signal when the *thread* that
/// spawned the child exits, not the process, and pool threads come and go; hence this thread.
public final class ChildSpawner: @unchecked Sendable {
    public static let shared = ChildSpawner()

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "overbook.spawner"
        thread.start()
    }

    private func loop() {
        // Children inherit the spawning thread's signal mask, and this runtime's threads block
        // most signals: a child spawned from here with SIGTERM blocked would never stop.
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }

    /// Runs `body` on the spawner thread.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            jobs.append { continuation.resume(with: Result { try body() }) }
            condition.signal()
            condition.unlock()
        }
    }

    static let setpriv: String? = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Starts `executable` with `arguments`; stdout and stderr go to `log` (`nil`: this
    /// process's own, and its standard input too).
    /// - Parameters:
    ///   - user: run as this user (numeric ids), e.g. PostgreSQL, which refuses to run as root.
    ///   - deathSignal: sent to the child if this process dies without stopping it.
    ///   - workingDirectory: where it starts (by default `/`, which every user may enter).
    public func launch(_ executable: String, _ arguments: [String], log: URL?, user: (uid: UInt32, gid: UInt32)? = nil,
                       deathSignal: String = "TERM", environment: [String: String] = [:],
                       workingDirectory: URL = URL(fileURLWithPath: "/")) async throws -> Process {
        try await run {
            let process = Process()
            var wrapped = [executable] + arguments
            if let setpriv = Self.setpriv {
                var options: [String] = []
                if let user { options += ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups"] }
                options += ["--pdeathsig", deathSignal, "--"]
                process.executableURL = URL(fileURLWithPath: setpriv)
                wrapped = options + wrapped
            } else {
                guard user == nil else { throw RealModeError("setpriv (util-linux) is needed to run PostgreSQL as another user; install util-linux") }
                process.executableURL = URL(fileURLWithPath: executable)
                wrapped.removeFirst()
            }
            process.arguments = wrapped
            process.currentDirectoryURL = workingDirectory
            var env = ProcessInfo.processInfo.environment
            env.merge(environment) { $1 }
            process.environment = env
            guard let log else {
                try process.run()
                return process
            }
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            try process.run()
            try? handle.close()
            return process
        }
    }
}

/// Stops a child: `signal`, then up to `grace` for it to exit, then SIGKILL.
public func stopChild(_ process: Process, signal: Int32 = SIGTERM, grace: Duration = .seconds(10)) async {
    guard process.isRunning else { return }
    kill(process.processIdentifier, signal)
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: grace)
    while process.isRunning, clock.now < deadline {
        try? await Task.sleep(for: .milliseconds(20))
    }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }
}

/// Runs `cleanup` once on SIGINT, SIGTERM or SIGHUP, then exits with 128 + the signal, so
/// Ctrl-C stops every server and child this run started.
///
/// `@unchecked Sendable`: `sources` is only touched under `lock`.
public final class InterruptHandler: @unchecked Sendable {
    private let lock = NSLock()
    private var sources: [any DispatchSourceSignal] = []
    private let fired = Atomic<Bool>(false)
    private let cleanup: @Sendable () async -> Void
    private let announce: @Sendable (String) -> Void

    /// `announce`: told, once, that a signal arrived and everything is being stopped.
    public init(announce: @escaping @Sendable (String) -> Void, cleanup: @escaping @Sendable () async -> Void) {
        self.cleanup = cleanup
        self.announce = announce
        var made: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            // Ignored at the default level so the dispatch source alone sees it.
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in self?.interrupted(by: signalNumber) }
            source.resume()
            made.append(source)
        }
        lock.withLock { sources = made }
    }

    /// Whether a signal arrived: the cleanup is then under way and ends the process.
    public var hasFired: Bool { fired.load(ordering: .relaxed) }

    private func interrupted(by signalNumber: Int32) {
        guard !fired.exchange(true, ordering: .relaxed) else { return }
        announce("signal \(signalNumber) received; stopping the services and servers this run started...")
        let done = DispatchSemaphore(value: 0)
        let cleanup = self.cleanup
        Task.detached {
            await cleanup()
            done.signal()
        }
        done.wait()
        exit(128 + signalNumber)
    }

    /// Back to the default behaviour once everything is stopped the normal way.
    public func disarm() {
        lock.withLock {
            for source in sources { source.cancel() }
            sources.removeAll()
        }
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] { signal(signalNumber, SIG_DFL) }
    }
}
