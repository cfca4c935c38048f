import ArgumentParser
import RealHarness

struct ServersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "servers",
        abstract: "Run a command beside a throwaway Redis and PostgreSQL (what `make test` and scripts/with-servers.sh use).",
        discussion: """
        Starts redis-server and PostgreSQL on free loopback ports, with every file in a fresh \
        temporary directory and durability off (as root, PostgreSQL runs as the `postgres` user, \
        or `overbook-pg`, created on first use; OVERBOOK_PG_USER overrides, OVERBOOK_PG_BIN names \
        its bin directory). The command finds them in OVERBOOK_TEST_REDIS_URL and \
        OVERBOOK_TEST_POSTGRES_URL (superuser `overbook`, trust authentication, database \
        `postgres`). When it ends, or on Ctrl-C, both servers are stopped and the directory is \
        removed. Exits with the command's status.

        Examples:
          overbook servers -- swift test --filter BackendsTests
          overbook servers -- bash -c 'psql "$OVERBOOK_TEST_POSTGRES_URL"'
        """
    )

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (after --).")
    var command: [String] = []

    func validate() throws {
        guard !command.drop(while: { $0 == "--" }).isEmpty else { throw ValidationError("give the command to run after --, e.g. overbook servers -- swift test") }
    }

    func run() throws {
        let command = self.command.first == "--" ? Array(self.command.dropFirst()) : self.command
        let status = try realSession("servers") { progress in
            try RealSession.withServers(progress: progress) { servers in try await servers.run(command) }
        }
        if status != 0 { throw ExitCode(status) }
    }
}
