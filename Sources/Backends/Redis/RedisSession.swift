import BookingCore
import CHiredis
import Foundation

/// A reply as Redis sent it, copied out of hiredis' memory so it can cross threads.
enum RedisReply: Hashable, Sendable {
    case status(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8])
    case null
    case array([RedisReply])

    /// A status or bulk reply as text.
    var text: String? {
        switch self {
        case .status(let text): text
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }
}

/// One hiredis connection and the thread that owns it.
///
/// `@unchecked Sendable` because `context` is mutable and non-`Sendable`: it is only read or
/// written by jobs running on `thread`, which run one at a time.
final class RedisSession: @unchecked Sendable {
    let thread: BlockingThread
    private let configuration: RedisConfiguration
    private var context: UnsafeMutablePointer<redisContext>?

    init(configuration: RedisConfiguration, index: Int) {
        self.configuration = configuration
        thread = BlockingThread(name: "overbook.redis.\(index)")
    }

    deinit {
        guard let context else { return }
        let doomed = UncheckedSendable(context)
        thread.submit { redisFree(doomed.value) }
    }

    /// Sends one command, each argument passed with its length (binary safe, never formatted
    /// into a command string), and waits for its reply on this session's thread.
    func command(_ arguments: [String]) async throws(LockError) -> RedisReply {
        try await thread.run { () throws(LockError) -> RedisReply in try self.commandOnThread(arguments) }
    }

    /// Closes the connection; the next command opens a new one.
    func disconnect() async {
        await thread.run { self.dropConnection() }
    }

    // MARK: On `thread` only

    private func commandOnThread(_ arguments: [String]) throws(LockError) -> RedisReply {
        let context = try connectedContext()
        do throws(LockError) {
            return try Self.send(arguments, on: context, endpoint: configuration.endpoint)
        } catch {
            // The reply stream is now in an unknown state (a late reply would be read as the
            // answer to the next command), so the connection cannot be reused.
            dropConnection()
            throw error
        }
    }

    private func connectedContext() throws(LockError) -> UnsafeMutablePointer<redisContext> {
        if let context {
            guard Self.peerHasClosed(context.pointee.fd) else { return context }
            // Closed by the server (a restart) or a proxy (a failover's redirect) since its last
            // use: replaced before anything is sent, as redis-py's pool checks a connection on
            // checkout, so no command is lost to it (nor run twice).
            dropConnection()
        }
        let endpoint = configuration.endpoint
        guard let context = redisConnectWithTimeout(configuration.host, Int32(configuration.port),
                                                    Self.makeTimeval(configuration.connectTimeout)) else {
            throw LockError.unavailable("cannot allocate a hiredis context for \(endpoint)")
        }
        if context.pointee.err != 0 {
            let detail = Self.errorText(context)
            redisFree(context)
            throw LockError.unavailable("cannot connect to Redis at \(endpoint): \(detail)")
        }
        if redisSetTimeout(context, Self.makeTimeval(configuration.commandTimeout)) != REDIS_OK {
            let detail = Self.errorText(context)
            redisFree(context)
            throw LockError.unavailable("cannot set the command timeout on \(endpoint): \(detail)")
        }
        do throws(LockError) {
            if let password = configuration.password {
                let auth = configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
                if case .error(let message) = try Self.send(auth, on: context, endpoint: endpoint) {
                    throw LockError.unavailable("Redis at \(endpoint) refused AUTH (\(message)); check the user and password in the Redis URL")
                }
            }
            if configuration.database != 0,
               case .error(let message) = try Self.send(["SELECT", String(configuration.database)], on: context, endpoint: endpoint) {
                throw LockError.unavailable("Redis at \(endpoint) refused SELECT \(configuration.database) (\(message)); check the database number in the Redis URL")
            }
        } catch {
            redisFree(context)
            throw error
        }
        self.context = context
        return context
    }

    /// Whether an idle connection has anything to read: end of stream or a reset (the peer
    /// closed it), or bytes no command asked for. Either way it cannot serve the next command.
    private static func peerHasClosed(_ fd: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }

    private func dropConnection() {
        if let context { redisFree(context) }
        context = nil
    }

    private static func send(_ arguments: [String], on context: UnsafeMutablePointer<redisContext>,
                             endpoint: String) throws(LockError) -> RedisReply {
        let buffers = arguments.map { Array($0.utf8) }
        let pointers = buffers.map { bytes -> UnsafeMutablePointer<CChar> in
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawPointer(pointer).copyMemory(from: source.baseAddress!, byteCount: bytes.count)
            }
            return pointer
        }
        defer { pointers.forEach { $0.deallocate() } }
        var argv: [UnsafePointer<CChar>?] = pointers.map { UnsafePointer($0) }
        let lengths: [Int] = buffers.map(\.count)

        errno = 0
        let raw = argv.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { lengths in
                redisCommandArgv(context, Int32(arguments.count), argv.baseAddress, lengths.baseAddress)
            }
        }
        let savedErrno = errno
        guard let raw else {
            let command = arguments.first ?? "command"
            if context.pointee.err == REDIS_ERR_IO, savedErrno == EAGAIN || savedErrno == EWOULDBLOCK {
                throw LockError.timeout
            }
            throw LockError.unavailable("\(command) to Redis at \(endpoint) failed: \(errorText(context))")
        }
        defer { freeReplyObject(raw) }
        return reply(raw.assumingMemoryBound(to: redisReply.self))
    }

    private static func reply(_ pointer: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let reply = pointer.pointee
        func bytes() -> [UInt8] {
            guard let str = reply.str else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: reply.len))
        }
        switch reply.type {
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(Int(reply.integer))
        case REDIS_REPLY_STRING: return .bulk(bytes())
        case REDIS_REPLY_ARRAY:
            return .array((0..<reply.elements).map { index in
                guard let element = reply.element[index] else { return .null }
                return Self.reply(element)
            })
        default: return .null
        }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return bytes.isEmpty ? "error \(context.pointee.err)" : String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func makeTimeval(_ duration: Duration) -> timeval {
        let (seconds, attoseconds) = duration.components
        let micros = max(0, attoseconds / 1_000_000_000_000)
        return timeval(tv_sec: Int(max(0, seconds)), tv_usec: Int(micros))
    }
}

/// Moves a value to another thread where the code guarantees it is no longer used here.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
