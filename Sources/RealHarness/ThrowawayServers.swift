import Backends
import BookingCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A Redis and a PostgreSQL that exist for one `overbook real` run, as
/// `scripts/with-servers.sh` starts them: loopback only, free ports, every file in a fresh
/// temporary directory, durability off (nothing in them is meant to survive). PostgreSQL
/// refuses to run as root, so as root it runs as the `postgres` user of Debian's package (or
/// `overbook-pg`, created on first use; override with OVERBOOK_PG_USER).
public final class ThrowawayServers: Sendable {
    public let directory: URL
    public let redisURL: String
    /// Superuser `overbook`, database `postgres`; the run creates its own databases beside it.
    public let postgresURL: String
    /// The running redis-server (a redis-restart fault replaces it), and whether `stopAll`
    /// has begun, after which no restart may start another.
    private let redisState: Mutex<(process: Process, stopped: Bool)>

    /// The postmaster running now (a restart replaces it), and whether `stopAll` has begun.
    private let postgresState: Mutex<(process: Process, stopped: Bool)>

    /// The redis-server running now.
    public var redis: Process { redisState.withLock { $0.process } }

    /// The PostgreSQL postmaster running now.
    public var postgres: Process { postgresState.withLock { $0.process } }

    /// The second redis-server a redis-failover fault promotes, once started.
    private let replicaState = Mutex<LaggingRedisReplica?>(nil)
    public var laggingReplica: LaggingRedisReplica? { replicaState.withLock { $0 } }

    private init(directory: URL, redis: Process, postgres: Process, redisURL: String, postgresURL: String) {
        self.directory = directory
        self.redisState = Mutex((redis, false))
        self.postgresState = Mutex((postgres, false))
        self.redisURL = redisURL
        self.postgresURL = postgresURL
    }

    /// Starts both; on any failure stops whatever did start and removes the directory.
    public static func start(progress: @escaping @Sendable (String) -> Void) async throws -> ThrowawayServers {
        let tools = try ServerTools.find()
        let directory = try makeDirectory(readableBy: tools.postgresUser)
        var redis: Process?
        do {
            progress("starting redis-server...")
            let (redisProcess, redisURL) = try await startRedis(tools: tools, directory: directory)
            redis = redisProcess
            progress("starting PostgreSQL (\(tools.postgresBin))...")
            let (postgres, postgresURL) = try await startPostgres(tools: tools, directory: directory)
            return ThrowawayServers(directory: directory, redis: redisProcess, postgres: postgres, redisURL: redisURL, postgresURL: postgresURL)
        } catch {
            if let redis { await stopChild(redis) }
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// The same server, another database.
    public func databaseURL(_ database: String) -> String {
        String(postgresURL.dropLast("postgres".count)) + database
    }

    /// Fast shutdown of PostgreSQL (SIGINT: abort open transactions, then exit), SIGTERM to
    /// Redis, then the directory goes. Safe to call twice.
    public func stopAll() async {
        let redis = redisState.withLock { state in
            state.stopped = true
            return state.process
        }
        let postgres = postgresState.withLock { state in
            state.stopped = true
            return state.process
        }
        if let replica = replicaState.withLock({ $0 }) { await replica.stop() }
        async let stopRedis: Void = stopChild(redis, signal: SIGTERM, grace: .seconds(5))
        async let stopPostgres: Void = stopChild(postgres, signal: SIGINT, grace: .seconds(15))
        _ = await (stopRedis, stopPostgres)
        try? FileManager.default.removeItem(at: directory)
    }

    /// A Redis restart without persistence, as the redis-restart fault means it: SIGKILL
    /// (nothing saved; `--save ""` and no AOF, so every key is lost), down for `downtime`,
    /// then a fresh redis-server on the same port, so every client's URL stays valid.
    public func restartRedis(downtime: Duration) async throws {
        guard let port = URLComponents(string: redisURL)?.port else { throw RealModeError("no port in \(redisURL)") }
        let fresh = try await Self.restart(redis, port: port, directory: directory, downtime: downtime)
        let keep = redisState.withLock { state in
            guard !state.stopped else { return false }
            state.process = fresh
            return true
        }
        // Shut down while it came up: it must not outlive the run.
        if !keep { await stopChild(fresh, signal: SIGTERM, grace: .seconds(5)) }
    }

    /// Starts (once) a second redis-server, a replica of this one fed through a loopback
    /// proxy that holds the replication stream back by `lag`: what a redis-failover promotes,
    /// having missed the primary's writes of the last `lag`.
    public func startLaggingReplica(lag: Duration) async throws -> LaggingRedisReplica {
        if let running = laggingReplica { return running }
        guard let primaryPort = URLComponents(string: redisURL)?.port else { throw RealModeError("no port in \(redisURL)") }
        let replica = try await Self.startLaggingReplica(ofPort: primaryPort, lag: lag, directory: directory)
        replicaState.withLock { $0 = replica }
        return replica
    }

    /// A lagging replica of the redis-server on `primaryPort`, its files under `directory`.
    static func startLaggingReplica(ofPort primaryPort: Int, lag: Duration, directory: URL) async throws -> LaggingRedisReplica {
        // Undelayed until the replica is in sync: a handshake of a few round trips, each held
        // back by the lag both ways, would take many times the lag.
        let link = try await FaultProxy.start(upstreamHost: "127.0.0.1", upstreamPort: primaryPort)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("redis-replica"), withIntermediateDirectories: true)
        let started: (Process, String)
        do {
            started = try await startRedis(tools: try ServerTools.find(), directory: directory, name: "redis-replica",
                                           extra: ["--replicaof", "127.0.0.1", "\(link.port)"])
        } catch {
            await link.stop()
            throw error
        }
        let admin = try RedisLockService(url: started.1, connectTimeout: .seconds(1), commandTimeout: .seconds(2), connections: 1)
        let replica = LaggingRedisReplica(process: started.0, url: started.1, link: link, lag: lag, admin: admin)
        do {
            try await replica.waitUntilInSync()
        } catch {
            await replica.stop()
            throw error
        }
        link.set(.delay(lag))
        return replica
    }

    /// Kills `redis` and, `downtime` later, starts a fresh redis-server on `port`.
    static func restart(_ redis: Process, port: Int, directory: URL, downtime: Duration) async throws -> Process {
        await stopChild(redis, signal: SIGKILL, grace: .seconds(2))
        try await Task.sleep(for: downtime)
        return try await startRedis(tools: try ServerTools.find(), directory: directory, port: port).0
    }

    /// PostgreSQL stopped as a crash stops it (SIGQUIT, the immediate shutdown: every backend
    /// ends at once, no checkpoint; open transactions are lost and recovery runs at the next
    /// start), down for `downtime`, then started again on the same data and port.
    public func restartPostgres(downtime: Duration) async throws {
        guard let port = URLComponents(string: postgresURL)?.port else { throw RealModeError("no port in \(postgresURL)") }
        await stopChild(postgres, signal: SIGQUIT, grace: .seconds(10))
        try await Task.sleep(for: downtime)
        let tools = try ServerTools.find()
        guard let fresh = try await Self.launchPostgres(tools: tools, directory: directory, port: port, attempts: 300).process else {
            throw RealModeError("PostgreSQL did not come back on port \(port); see \(directory.appendingPathComponent("logs/postgres.log").path)")
        }
        let keep = postgresState.withLock { state in
            guard !state.stopped else { return false }
            state.process = fresh
            return true
        }
        if !keep { await stopChild(fresh, signal: SIGINT, grace: .seconds(10)) }
    }

    // MARK: Setting up

    struct ServerTools {
        var redisServer: String
        var postgresBin: String
        /// Set when running as root: PostgreSQL runs as this user.
        var postgresUser: (name: String, uid: UInt32, gid: UInt32)?

        static func find() throws -> ServerTools {
            guard let redisServer = which("redis-server") else {
                throw RealModeError("redis-server not found; install it (apt-get install redis-server) or pass --redis-url")
            }
            let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
                .filter { FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/postgres") }
                .sorted { (Double($0) ?? 0) < (Double($1) ?? 0) }
            var postgresBin: String
            if let bin = ProcessInfo.processInfo.environment["OVERBOOK_PG_BIN"] {
                postgresBin = bin
            } else if let newest = versions.last {
                postgresBin = "/usr/lib/postgresql/\(newest)/bin"
            } else if let initdb = which("initdb") {
                postgresBin = (initdb as NSString).deletingLastPathComponent
            } else {
                throw RealModeError("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin; install postgresql or pass --inventory-database-url and --booking-database-url")
            }
            for tool in ["initdb", "postgres"] where !FileManager.default.isExecutableFile(atPath: "\(postgresBin)/\(tool)") {
                throw RealModeError("\(postgresBin)/\(tool) not found; set OVERBOOK_PG_BIN to PostgreSQL's bin directory")
            }
            var user: (String, UInt32, UInt32)?
            if getuid() == 0 {
                let name = ProcessInfo.processInfo.environment["OVERBOOK_PG_USER"] ?? (lookup("postgres") != nil ? "postgres" : "overbook-pg")
                if lookup(name) == nil {
                    let created = try runToEnd("/usr/sbin/useradd", ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                                                                     "--shell", "/usr/sbin/nologin", name])
                    guard created.status == 0 else { throw RealModeError("could not create system user \(name) for PostgreSQL: \(created.output)") }
                }
                guard let ids = lookup(name), ids.uid != 0 else {
                    throw RealModeError("PostgreSQL cannot run as root and user \(name) is unusable; set OVERBOOK_PG_USER to an unprivileged user")
                }
                user = (name, ids.uid, ids.gid)
            }
            return ServerTools(redisServer: redisServer, postgresBin: postgresBin, postgresUser: user)
        }

        static func lookup(_ name: String) -> (uid: UInt32, gid: UInt32)? {
            guard let entry = getpwnam(name) else { return nil }
            return (entry.pointee.pw_uid, entry.pointee.pw_gid)
        }

        static func which(_ tool: String) -> String? {
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
            let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
            return directories.map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
    }

    public static func makeDirectory(readableBy user: (name: String, uid: UInt32, gid: UInt32)?) throws -> URL {
        var base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        if user != nil { base = "/tmp" } // TMPDIR may sit under /root, out of the PostgreSQL user's reach
        var template = Array("\(base)/overbook-real.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw RealModeError("could not create a temporary directory in \(base) (errno \(errno))") }
        let path = String(cString: made)
        // The PostgreSQL user may pass through, not list.
        chmod(path, 0o711)
        let directory = URL(fileURLWithPath: path)
        for sub in ["redis", "pg", "pg/data", "pg/sock", "logs"] {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        chmod(directory.appendingPathComponent("pg/data").path, 0o700)
        if let user {
            for sub in ["pg", "pg/data", "pg/sock"] {
                chown(directory.appendingPathComponent(sub).path, user.uid, user.gid)
            }
        }
        return directory
    }

    /// Starts redis-server on `port` (`nil`: a free one).
    static func startRedis(tools: ServerTools, directory: URL, port fixedPort: Int? = nil, name: String = "redis",
                           extra: [String] = []) async throws -> (Process, String) {
        var lastLog = ""
        for _ in 1...5 {
            let port = try fixedPort ?? freeLoopbackPort()
            let log = directory.appendingPathComponent("\(name)/redis.log")
            let process = try await ChildSpawner.shared.launch(tools.redisServer, [
                "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", directory.appendingPathComponent(name).path,
            ] + extra, log: log)
            let url = "redis://127.0.0.1:\(port)"
            let lock = try RedisLockService(url: url, connectTimeout: .milliseconds(500), commandTimeout: .seconds(1), connections: 1)
            for _ in 0..<100 where process.isRunning {
                if await answers(lock, asProcess: process.processIdentifier) {
                    await lock.close()
                    return (process, url)
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            await lock.close()
            lastLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            await stopChild(process, signal: SIGKILL, grace: .seconds(2))
        }
        throw RealModeError("redis-server did not start; its log ends with:\n\(lastLog.suffix(1500))")
    }

    /// Whether the redis-server answering at `lock`'s address is process `pid`: on a fixed
    /// port (a restart), another test's server may have taken the port while ours was down, and
    /// ours then exits at once, unable to bind, while the other one answers.
    private static func answers(_ lock: RedisLockService, asProcess pid: Int32) async -> Bool {
        guard let info = try? await lock.administer(["INFO", "server"]) else { return false }
        return info.split(whereSeparator: \.isNewline).contains { $0.trimmingCharacters(in: .whitespaces) == "process_id:\(pid)" }
    }

    static func startPostgres(tools: ServerTools, directory: URL) async throws -> (Process, String) {
        let data = directory.appendingPathComponent("pg/data")
        let user = tools.postgresUser.map { (uid: $0.uid, gid: $0.gid) }
        let initLog = directory.appendingPathComponent("logs/initdb.log")
        let initdb = try await ChildSpawner.shared.launch("\(tools.postgresBin)/initdb", [
            "-D", data.path, "-A", "trust", "-U", "overbook", "--no-sync", "-E", "UTF8", "--no-locale",
        ], log: initLog, user: user, deathSignal: "KILL")
        while initdb.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        guard initdb.terminationStatus == 0 else {
            let log = (try? String(contentsOf: initLog, encoding: .utf8)) ?? ""
            throw RealModeError("initdb failed (status \(initdb.terminationStatus)):\n\(log.suffix(1500))")
        }
        // Trust, and only over loopback and the private socket directory.
        let hba = """
            local   all  all                trust
            host    all  all  127.0.0.1/32  trust
            host    all  all  ::1/128       trust

            """
        let hbaPath = data.appendingPathComponent("pg_hba.conf").path
        try hba.write(toFile: hbaPath, atomically: false, encoding: .utf8)
        if let user { chown(hbaPath, user.uid, user.gid) }

        var lastLog = ""
        for _ in 1...5 {
            let port = try freeLoopbackPort()
            let (process, log) = try await launchPostgres(tools: tools, directory: directory, port: port, attempts: 300)
            if let process { return (process, "postgresql://overbook@127.0.0.1:\(port)/postgres") }
            lastLog = log
        }
        throw RealModeError("PostgreSQL did not start; its log ends with:\n\(lastLog.suffix(1500))")
    }

    /// The postmaster on the initialized data directory and `port`, once it answers (polled
    /// every 100 ms, `attempts` times); otherwise `nil` (stopped again) and its log.
    static func launchPostgres(tools: ServerTools, directory: URL, port: Int, attempts: Int) async throws -> (process: Process?, log: String) {
        let data = directory.appendingPathComponent("pg/data")
        let user = tools.postgresUser.map { (uid: $0.uid, gid: $0.gid) }
        let log = directory.appendingPathComponent("logs/postgres.log")
        // SIGINT is PostgreSQL's fast shutdown: the right death signal for a throwaway server.
        let process = try await ChildSpawner.shared.launch("\(tools.postgresBin)/postgres", [
            "-D", data.path, "-p", "\(port)", "-k", directory.appendingPathComponent("pg/sock").path,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=128MB",
        ], log: log, user: user, deathSignal: "INT")
        let pool = try PostgresPool(url: "postgresql://overbook@127.0.0.1:\(port)/postgres", poolSize: 1)
        for _ in 0..<attempts where process.isRunning {
            // Ours, not a server of another test that took the port while ours was down (a
            // restart on a fixed port): that one would answer while ours exits, unable to bind.
            if let shown = (try? await pool.execute("SHOW data_directory"))?.rows.first?.first ?? nil,
               URL(fileURLWithPath: shown).standardizedFileURL.path == data.standardizedFileURL.path {
                await pool.close()
                return (process, "")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        await pool.close()
        await stopChild(process, signal: SIGINT, grace: .seconds(10))
        return (nil, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }
}

/// Runs a tool to its end (for one-off set-up commands such as `useradd`).
func runToEnd(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

extension ThrowawayServers {
    /// The variables a command run beside these servers finds them by (the tests read them).
    public var environment: [String: String] {
        ["OVERBOOK_TEST_REDIS_URL": redisURL, "OVERBOOK_TEST_POSTGRES_URL": postgresURL]
    }

    /// Runs `command` (a path or a name on PATH, then its arguments) with these servers in its
    /// environment and this process's standard input and output, and returns its exit status
    /// (128 + the signal when a signal ended it). The command gets SIGTERM if this process dies.
    public func run(_ command: [String]) async throws -> Int32 {
        guard let name = command.first else { throw RealModeError("no command to run beside the servers") }
        guard let executable = name.contains("/") ? name : ServerTools.which(name) else {
            throw RealModeError("\(name): command not found")
        }
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let process = try await ChildSpawner.shared.launch(executable, Array(command.dropFirst()), log: nil,
                                                           environment: environment, workingDirectory: here)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }
}

/// A replica redis-server whose replication stream passes through a proxy that delays it, so
/// it lags its primary by `lag`: promoted by a redis-failover, it has lost the primary's last
/// writes, as a real asynchronous replica has.
public final class LaggingRedisReplica: Sendable {
    public let process: Process
    public let url: String
    public let lag: Duration
    let link: FaultProxy
    /// A connection of its own, for REPLICAOF and INFO.
    private let admin: RedisLockService

    init(process: Process, url: String, link: FaultProxy, lag: Duration, admin: RedisLockService) {
        self.process = process
        self.url = url
        self.link = link
        self.lag = lag
        self.admin = admin
    }

    public var port: Int { URLComponents(string: url)?.port ?? 0 }

    /// `command` on `admin`, tried up to 3 times: a server restarting just then may close the
    /// connection under it, and the next try connects afresh.
    @discardableResult
    static func administer(_ command: [String], on admin: RedisLockService) async throws -> String {
        var failure: LockError?
        for _ in 1...3 {
            do throws(LockError) {
                return try await admin.administer(command)
            } catch {
                failure = error
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw failure!
    }

    /// Waits (up to 10 s) until the replica's link to its primary is up.
    func waitUntilInSync() async throws {
        try await Self.waitForLink(admin, what: "the replica redis-server on port \(port)")
    }

    static func waitForLink(_ admin: RedisLockService, what: String) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        while clock.now < deadline {
            if let info = try? await admin.administer(["INFO", "replication"]), info.contains("master_link_status:up") { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw RealModeError("\(what) did not get in sync with its primary within 10 s")
    }

    /// The failover's promotion: the delayed link goes silent first (what it still held back
    /// is lost), then `REPLICAOF NO ONE` makes the replica a primary of its own.
    public func promote() async throws {
        link.set(.blackhole)
        try await Self.administer(["REPLICAOF", "NO", "ONE"], on: admin)
    }

    /// Back to a replica of the original primary through the delayed link (after the run).
    public func followAgain() async throws {
        link.set(.reset)
        link.set(.pass)
        try await Self.administer(["REPLICAOF", "127.0.0.1", "\(link.port)"], on: admin)
        try await waitUntilInSync()
        link.set(.delay(lag))
    }

    func stop() async {
        await admin.close()
        await link.stop()
        await stopChild(process, signal: SIGTERM, grace: .seconds(5))
    }
}
