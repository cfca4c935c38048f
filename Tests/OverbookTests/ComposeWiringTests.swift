import Foundation
import Testing
import Yams
#if canImport(Glibc)
import Glibc
#endif

/// deploy/compose.yaml run without a container engine: every service of the `test` profile, in
/// the order its `depends_on` conditions allow, as a local process on loopback, so that a wrong
/// flag, port, variable name or dependency in the file fails here. What stands in for what:
///
/// - a service built from deploy/Dockerfile runs this package's `overbook` (the image's
///   ENTRYPOINT) with the service's `command` and only its `environment` (after the image's
///   `ENV`), in a scratch directory standing for the image's WORKDIR; its `volumes` are scratch
///   directories; `--host 0.0.0.0` becomes 127.0.0.1 and `--port <exposed>` becomes `--port 0`,
///   and the port it binds is where `name:<exposed>` then points, in every later service's
///   command and environment;
/// - the PostgreSQL images are the test PostgreSQL, with the role, password and database their
///   POSTGRES_* variables name (created here, dropped afterwards); the credentials in every URL
///   that names them must be theirs (the test server trusts loopback, so it would not check);
/// - the Redis image is the test Redis, database 2 (no other suite uses it);
/// - `healthcheck`s of the services built here run as they would in the container (the
///   service's own `127.0.0.1:<exposed>` is its bound port), within the file's retries;
/// - `${VAR:-default}` takes the default: the file must run as shipped.
@Suite struct ComposeWiringTests {
    @Test func everyServiceOfTheTestProfileRunsAndTheLoadTestAndValidationPass() async throws {
        let compose = try ComposeFile.load()
        let image = try DockerfileImage.load()
        let scratch = try Scratch()
        defer { scratch.remove() }
        let stack = try ComposeStack(compose: compose, image: image, scratch: scratch)
        defer { stack.tearDown() }
        try await stack.up(profile: "test")

        let load = try #require(stack.process("load"))
        #expect(load.stdout.contains("Successful Bookings (201): 1\n"), "\(load.stdout)\(load.stderr)")
        #expect(load.stdout.contains("OVERALL RESULT: ✓ PASS"), "\(load.stdout)\(load.stderr)")
        // The users were spread over both replicas, as the load's two --url flags ask.
        #expect(load.stdout.contains(stack.apiRoot("booking-service-1")) && load.stdout.contains(stack.apiRoot("booking-service-2")),
                "\(load.stdout)")
        let results = try Data(contentsOf: stack.volumePath("load-results").appendingPathComponent("results.json"))
        let decoded = try #require(try JSONSerialization.jsonObject(with: results) as? [String: Any])
        #expect((decoded["results"] as? [Any])?.count == 50, "\(decoded.keys.sorted())")
        let validate = try #require(stack.process("validate"))
        #expect(validate.stdout.contains("Confirmed bookings covering 2026-03-15: 1\n"), "\(validate.stdout)\(validate.stderr)")
        #expect(validate.stdout.contains("OVERALL RESULT: ✓ PASS"), "\(validate.stdout)\(validate.stderr)")

        // The long-running services are all still up, and stop cleanly when told.
        for name in stack.longRunning {
            let process = try #require(stack.process(name))
            #expect(process.isRunning, "\(name) exited: \(process.stderr)")
            #expect(process.terminate() == 0, "\(name) did not stop cleanly: \(process.stderr)")
        }
    }

    /// Ports published to the host bind loopback only, and map the port the service listens on.
    @Test func publishedPortsAreLoopbackOnlyAndMatchWhatTheServiceExposes() throws {
        let compose = try ComposeFile.load()
        for (name, service) in compose.services {
            for port in service.ports {
                let parts = port.split(separator: ":").map(String.init)
                #expect(parts.count == 3 && parts[0] == "127.0.0.1", "\(name): \(port) is published beyond loopback")
                #expect(service.exposed.map(String.init) == [parts.last!], "\(name): \(port) but exposes \(service.exposed)")
            }
        }
    }
}

// MARK: - The file

/// The parts of a compose file this test carries out, interpolated as `docker compose` does.
struct ComposeFile {
    struct Dependency {
        let service: String
        let condition: String
    }

    struct HealthCheck {
        let test: [String]
        let budget: Duration
    }

    struct Service {
        let name: String
        let image: String
        let builtHere: Bool
        let command: [String]
        let environment: [String: String]
        let exposed: [Int]
        let ports: [String]
        let volumes: [(volume: String, path: String)]
        let dependencies: [Dependency]
        let healthCheck: HealthCheck?
        let profiles: [String]
        let restart: String
    }

    let services: [String: Service]

    static var path: URL { OverbookBinary.packageRoot.appendingPathComponent("deploy/compose.yaml") }

    static func load(environment: [String: String] = [:]) throws -> ComposeFile {
        let text = try String(contentsOf: path, encoding: .utf8)
        let root = try #require(try Yams.load(yaml: text) as? [String: Any], "compose.yaml is not a mapping")
        let services = try #require(root["services"] as? [String: Any], "compose.yaml has no services")
        var parsed: [String: Service] = [:]
        for (name, value) in services {
            let entry = try #require(value as? [String: Any], "service \(name) is not a mapping")
            parsed[name] = try Service(name: name, entry, environment: environment)
        }
        return ComposeFile(services: parsed)
    }

    /// `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}` and `$$`, as compose
    /// interpolates every string of the file.
    static func interpolate(_ text: String, environment: [String: String]) throws -> String {
        var output = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("$") {
                output += "$"
                rest = after.dropFirst()
                continue
            }
            guard after.hasPrefix("{"), let close = after.firstIndex(of: "}") else {
                throw ToolFailure(description: "compose.yaml: unsupported interpolation in '\(text)'")
            }
            let expression = String(after[after.index(after: after.startIndex)..<close])
            rest = after[after.index(after: close)...]
            if let range = expression.range(of: ":-") ?? expression.range(of: "-") {
                let variable = String(expression[..<range.lowerBound])
                let value = environment[variable]
                let useDefault = range.upperBound > expression.index(after: range.lowerBound) ? (value ?? "").isEmpty : value == nil
                output += useDefault ? String(expression[range.upperBound...]) : value!
            } else if let range = expression.range(of: ":?") {
                let variable = String(expression[..<range.lowerBound])
                guard let value = environment[variable], !value.isEmpty else {
                    throw ToolFailure(description: "compose.yaml needs \(variable): \(expression[range.upperBound...])")
                }
                output += value
            } else {
                output += environment[expression] ?? ""
            }
        }
        return output + rest
    }
}

extension ComposeFile.Service {
    init(name: String, _ entry: [String: Any], environment: [String: String]) throws {
        func string(_ value: Any?) throws -> String? {
            guard let value else { return nil }
            return try ComposeFile.interpolate("\(value)", environment: environment)
        }
        func strings(_ value: Any?) throws -> [String] {
            switch value {
            case nil: return []
            case let list as [Any]: return try list.map { try string($0)! }
            case let text as String: return try string(text)!.split(separator: " ").map(String.init)
            default: throw ToolFailure(description: "service \(name): expected a list, got \(value!)")
            }
        }
        self.name = name
        image = try string(entry["image"]) ?? ""
        builtHere = entry["build"] != nil
        command = try strings(entry["command"])
        var variables: [String: String] = [:]
        for (key, value) in entry["environment"] as? [String: Any] ?? [:] { variables[key] = try string(value) }
        self.environment = variables
        exposed = try strings(entry["expose"]).map { try #require(Int($0), "service \(name): expose \($0)") }
        ports = try strings(entry["ports"])
        volumes = try strings(entry["volumes"]).map { mount in
            let parts = mount.split(separator: ":").map(String.init)
            guard parts.count >= 2 else { throw ToolFailure(description: "service \(name): volume \(mount)") }
            return (parts[0], parts[1])
        }
        var dependencies: [ComposeFile.Dependency] = []
        switch entry["depends_on"] {
        case let list as [Any]: dependencies = list.map { .init(service: "\($0)", condition: "service_started") }
        case let map as [String: Any]:
            dependencies = map.keys.sorted().map { key in
                .init(service: key, condition: ((map[key] as? [String: Any])?["condition"] as? String) ?? "service_started")
            }
        default: break
        }
        self.dependencies = dependencies
        if let check = entry["healthcheck"] as? [String: Any] {
            let interval = try ComposeFile.duration(check["interval"] as? String ?? "30s")
            let start = try ComposeFile.duration(check["start_period"] as? String ?? "0s")
            let retries = check["retries"] as? Int ?? 3
            healthCheck = .init(test: try strings(check["test"]), budget: start + interval * (retries + 1))
        } else {
            healthCheck = nil
        }
        profiles = try strings(entry["profiles"])
        restart = try string(entry["restart"]) ?? "no"
    }
}

extension ComposeFile {
    /// `5s`, `300ms`, `1m`, `1m30s`: compose's durations.
    static func duration(_ text: String) throws -> Duration {
        var total = Duration.zero
        var digits = ""
        var rest = Substring(text)
        while let character = rest.first {
            if character.isNumber || character == "." {
                digits.append(character)
                rest = rest.dropFirst()
                continue
            }
            let unit = rest.prefix { !$0.isNumber }
            rest = rest.dropFirst(unit.count)
            guard let value = Double(digits) else { throw ToolFailure(description: "compose.yaml: duration '\(text)'") }
            let seconds: Double = switch unit {
            case "ms": value / 1000
            case "s": value
            case "m": value * 60
            case "h": value * 3600
            default: throw ToolFailure(description: "compose.yaml: duration '\(text)'")
            }
            total += .milliseconds(Int64(seconds * 1000))
            digits = ""
        }
        guard digits.isEmpty else { throw ToolFailure(description: "compose.yaml: duration '\(text)' has no unit") }
        return total
    }
}

/// What deploy/Dockerfile's runtime stage gives every container: its ENTRYPOINT, WORKDIR and ENV.
struct DockerfileImage {
    let entrypoint: [String]
    let workingDirectory: String
    let environment: [String: String]

    static func load() throws -> DockerfileImage {
        let text = try String(contentsOf: OverbookBinary.packageRoot.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
        // The last stage is the image.
        let lastStage = text.components(separatedBy: "\nFROM ").last ?? text
        var entrypoint: [String] = []
        var workingDirectory = "/"
        var environment: [String: String] = [:]
        for line in lastStage.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("ENTRYPOINT ") {
                let json = Data(line.dropFirst("ENTRYPOINT ".count).utf8)
                entrypoint = try #require(try JSONSerialization.jsonObject(with: json) as? [String], "ENTRYPOINT is not exec form")
            } else if line.hasPrefix("WORKDIR ") {
                workingDirectory = String(line.dropFirst("WORKDIR ".count))
            } else if line.hasPrefix("ENV "), let equals = line.firstIndex(of: "=") {
                environment[String(line[line.index(line.startIndex, offsetBy: 4)..<equals])] = String(line[line.index(after: equals)...])
            }
        }
        return DockerfileImage(entrypoint: entrypoint, workingDirectory: workingDirectory, environment: environment)
    }
}

// MARK: - Carrying it out

/// The stack: stand-ins for the images not built here, processes for the rest.
final class ComposeStack {
    let compose: ComposeFile
    let image: DockerfileImage
    let scratch: Scratch
    private var processes: [String: LoggedProcess] = [:]
    /// `name:port` as the file writes it → `127.0.0.1:port` where it really is.
    private var addresses: [String: String] = [:]
    /// Redis URLs of the stand-in get this database.
    private var redisAddress = ""
    private var createdDatabases: [(role: String, database: String)] = []
    private let admin: String

    init(compose: ComposeFile, image: DockerfileImage, scratch: Scratch) throws {
        self.compose = compose
        self.image = image
        self.scratch = scratch
        admin = try RealModeServers.postgresURL()
    }

    func process(_ name: String) -> LoggedProcess? { processes[name] }

    func apiRoot(_ name: String) -> String {
        let service = compose.services[name]!
        return "http://\(addresses["\(name):\(service.exposed[0])"]!)/api"
    }

    func volumePath(_ volume: String) -> URL { scratch.file("volume-\(volume)") }

    /// The services that run until stopped (those `restart` brings back).
    var longRunning: [String] {
        processes.keys.sorted().filter { compose.services[$0]!.restart != "no" }
    }

    /// Every service of `profile` (and those of no profile), each once its dependencies allow.
    func up(profile: String) async throws {
        let active = compose.services.values.filter { $0.profiles.isEmpty || $0.profiles.contains(profile) }
        var started: Set<String> = []
        var remaining = active.map(\.name).sorted()
        while !remaining.isEmpty {
            guard let next = remaining.first(where: { name in
                compose.services[name]!.dependencies.allSatisfy { started.contains($0.service) }
            }) else {
                throw ToolFailure(description: "compose.yaml: a dependency cycle or a missing service among \(remaining)")
            }
            let service = compose.services[next]!
            for dependency in service.dependencies {
                try await waitFor(dependency, of: next)
            }
            try await start(service)
            started.insert(next)
            remaining.removeAll { $0 == next }
        }
        // Every one-shot service must have finished well.
        for name in processes.keys.sorted() where compose.services[name]!.restart == "no" {
            let container = processes[name]!
            let status = await offThePool { container.exitStatus(within: 120) }
            #expect(status == 0, "\(name) exited \(status.map(String.init) ?? "(still running)"): \(container.stdout)\(container.stderr)")
        }
    }

    private func waitFor(_ dependency: ComposeFile.Dependency, of dependent: String) async throws {
        let service = try #require(compose.services[dependency.service], "\(dependent) depends on \(dependency.service), which is not in the file")
        switch dependency.condition {
        case "service_started": return
        case "service_completed_successfully":
            let container = try #require(processes[service.name], "\(dependent) waits for \(service.name) to complete, but it is a stand-in")
            let status = await offThePool { container.exitStatus(within: 120) }
            guard status == 0 else {
                throw ToolFailure(description: "\(service.name), which \(dependent) waits for, exited \(status.map(String.init) ?? "(still running)"): \(container.stdout)\(container.stderr)")
            }
        case "service_healthy":
            let check = try #require(service.healthCheck, "\(dependent) waits for \(service.name) to be healthy, but it has no healthcheck")
            guard service.builtHere else { return }  // a stand-in is up already
            try await probe(service, check)
        default:
            throw ToolFailure(description: "\(dependent): unknown depends_on condition \(dependency.condition)")
        }
    }

    private func probe(_ service: ComposeFile.Service, _ check: ComposeFile.HealthCheck) async throws {
        guard check.test.first == "CMD", check.test.count >= 2 else {
            throw ToolFailure(description: "\(service.name): healthcheck test should be exec form [\"CMD\", ...], got \(check.test)")
        }
        let command = check.test.dropFirst().map { own(service, rewritten($0)) }
        let deadline = ContinuousClock.now.advanced(by: check.budget)
        var last = ""
        while ContinuousClock.now < deadline {
            let container = try run(service, command, logName: "\(service.name)-health")
            let status = await offThePool { container.exitStatus(within: 30) }
            if status == 0 { return }
            last = container.stdout + container.stderr
            if let main = processes[service.name], !main.isRunning {
                throw ToolFailure(description: "\(service.name) exited before it was healthy: \(main.stdout)\(main.stderr)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw ToolFailure(description: "\(service.name) not healthy within \(check.budget): \(last)")
    }

    private func start(_ service: ComposeFile.Service) async throws {
        if service.image.hasPrefix("postgres:") {
            try standInPostgres(service)
        } else if service.image.hasPrefix("redis:") {
            let url = try RealModeServers.redisURL(database: 2)
            let endpoint = url.replacingOccurrences(of: "redis://", with: "").split(separator: "/")[0]
            for port in service.exposed { addresses["\(service.name):\(port)"] = String(endpoint) }
            redisAddress = String(endpoint)
        } else {
            #expect(service.builtHere, "\(service.name): image \(service.image) is neither built here nor stood in for")
            try await startBuilt(service)
        }
    }

    /// The role and database the image would create from its POSTGRES_* variables.
    private func standInPostgres(_ service: ComposeFile.Service) throws {
        let user = try #require(service.environment["POSTGRES_USER"], "\(service.name): POSTGRES_USER")
        let password = try #require(service.environment["POSTGRES_PASSWORD"], "\(service.name): POSTGRES_PASSWORD")
        let database = service.environment["POSTGRES_DB"] ?? user
        _ = try? RealModeServers.psql(admin, "DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        _ = try? RealModeServers.psql(admin, "DROP ROLE IF EXISTS \(user)")
        try RealModeServers.psql(admin, "CREATE ROLE \(user) LOGIN PASSWORD '\(password.replacingOccurrences(of: "'", with: "''"))'")
        try RealModeServers.psql(admin, "CREATE DATABASE \(database) OWNER \(user)")
        createdDatabases.append((user, database))
        let endpoint = try #require(URL(string: admin)).host.map { "\($0):\(URL(string: admin)!.port ?? 5432)" }!
        for port in service.exposed { addresses["\(service.name):\(port)"] = endpoint }
        // Every URL in the file that names this server must carry its credentials.
        for other in compose.services.values {
            for value in other.environment.values + other.command where value.hasPrefix("postgresql://") {
                guard let url = URLComponents(string: value), url.host == service.name else { continue }
                #expect(url.user == user && url.password == password && url.path == "/\(database)",
                        "\(other.name): \(value) does not match \(service.name)'s POSTGRES_USER/PASSWORD/DB")
            }
        }
    }

    private func startBuilt(_ service: ComposeFile.Service) async throws {
        var command = service.command.map(rewritten)
        if let host = command.firstIndex(of: "--host"), host + 1 < command.count, command[host + 1] == "0.0.0.0" {
            command[host + 1] = "127.0.0.1"
        }
        let serves = command.first == "serve"
        if serves {
            let port = try #require(command.firstIndex(of: "--port"), "\(service.name) serves without --port")
            #expect(service.exposed.map(String.init) == [command[port + 1]], "\(service.name) listens on \(command[port + 1]) but exposes \(service.exposed)")
            command[port + 1] = "0"
        }
        let container = try run(service, command, logName: service.name)
        processes[service.name] = container
        guard serves else { return }
        let bound = try #require(await offThePool { Self.boundPort(container) },
                                 "\(service.name) printed no listening line: \(container.stdout)\(container.stderr)")
        addresses["\(service.name):\(service.exposed[0])"] = "127.0.0.1:\(bound)"
    }

    private func run(_ service: ComposeFile.Service, _ command: [String], logName: String) throws -> LoggedProcess {
        let root = scratch.file("workdir-\(service.name)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var environment = image.environment.merging(service.environment.mapValues(rewritten)) { $1 }
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"]
        environment["OVERBOOK_PARENT_PID"] = "\(getpid())"
        environment["LOG_LEVEL"] = "warning"
        var arguments = command
        // Mounts under the image's WORKDIR are folders of the scratch directory, reached by the
        // same relative path from the process's working directory.
        for mount in service.volumes {
            let volume = volumePath(mount.volume)
            try FileManager.default.createDirectory(at: volume, withIntermediateDirectories: true)
            let relative = mount.path.hasPrefix(image.workingDirectory + "/") ? String(mount.path.dropFirst(image.workingDirectory.count + 1)) : nil
            let link = try #require(relative, "\(service.name): volume at \(mount.path) is outside the image's WORKDIR \(image.workingDirectory)")
            try? FileManager.default.removeItem(at: root.appendingPathComponent(link))
            try FileManager.default.createSymbolicLink(at: root.appendingPathComponent(link), withDestinationURL: volume)
            arguments = arguments.map { $0.replacingOccurrences(of: mount.path, with: volume.path) }
        }
        let executable: URL
        if command.first == "overbook" {
            executable = OverbookBinary.url
            arguments = Array(arguments.dropFirst())
        } else {
            #expect(image.entrypoint == ["overbook"], "the image's ENTRYPOINT is \(image.entrypoint)")
            executable = OverbookBinary.url
        }
        return try LoggedProcess(executable: executable, arguments: arguments, environment: environment,
                                  directory: root, logs: scratch.url, name: logName)
    }

    /// `name:port` of the file → where it is here; the stand-in Redis gets its database.
    private func rewritten(_ value: String) -> String {
        var value = value
        for (from, to) in addresses.sorted(by: { $0.key.count > $1.key.count }) {
            value = value.replacingOccurrences(of: from, with: to)
        }
        if !redisAddress.isEmpty, value == "redis://\(redisAddress)" { value += "/2" }
        return value
    }

    /// Inside its container a service reaches itself on 127.0.0.1 and the port it exposes.
    private func own(_ service: ComposeFile.Service, _ value: String) -> String {
        guard let port = service.exposed.first, let bound = addresses["\(service.name):\(port)"] else { return value }
        return value.replacingOccurrences(of: "127.0.0.1:\(port)", with: bound)
    }

    private static func boundPort(_ container: LoggedProcess) -> Int? {
        for _ in 0..<1200 {
            let text = container.stdout
            if let found = text.range(of: "listening on http://127.0.0.1:") {
                let digits = text[found.upperBound...].prefix { $0.isNumber }
                if !digits.isEmpty { return Int(digits) }
            }
            guard container.isRunning else { return nil }
            usleep(50_000)
        }
        return nil
    }

    func tearDown() {
        for container in processes.values where container.isRunning { _ = container.terminate() }
        for (role, database) in createdDatabases {
            _ = try? RealModeServers.psql(admin, "DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
            _ = try? RealModeServers.psql(admin, "DROP ROLE IF EXISTS \(role)")
        }
    }
}

/// Blocking waits on a thread of their own, off the cooperative pool.
private func offThePool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}
