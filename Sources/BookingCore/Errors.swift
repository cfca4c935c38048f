/// Typed errors of the abstractions. Each description says what happened and what to do.

/// A PostgreSQL error, by SQLSTATE where the server gives one.
public enum StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// 40P01: this transaction was chosen as the deadlock victim and rolled back. Retry it.
    case deadlockDetected
    /// 40001: a serialization failure aborted the transaction. Retry it.
    case serializationFailure
    /// 23505: a unique constraint refused the row.
    case uniqueViolation(constraint: String)
    /// 57014: `statement_timeout` cancelled the statement; the transaction is aborted.
    case statementTimeout
    /// The connection dropped; an open transaction was rolled back by the server.
    case connectionLost(String)
    /// The transaction was already ended (committed, rolled back or aborted by an error).
    case transactionClosed
    /// Any other server error.
    case server(sqlstate: String, message: String)

    public var sqlstate: String? {
        switch self {
        case .deadlockDetected: "40P01"
        case .serializationFailure: "40001"
        case .uniqueViolation: "23505"
        case .statementTimeout: "57014"
        case .transactionClosed: "25P02"
        case .server(let state, _): state
        case .connectionLost: nil
        }
    }

    public var description: String {
        switch self {
        case .deadlockDetected:
            "deadlock detected (SQLSTATE 40P01): the transaction was rolled back; retry it"
        case .serializationFailure:
            "could not serialize access (SQLSTATE 40001): the transaction was rolled back; retry it"
        case .uniqueViolation(let constraint):
            "duplicate key violates unique constraint \"\(constraint)\" (SQLSTATE 23505)"
        case .statementTimeout:
            "statement timeout (SQLSTATE 57014): the transaction is aborted; retry or raise statement_timeout"
        case .connectionLost(let detail):
            "connection to PostgreSQL lost (\(detail)); any open transaction was rolled back"
        case .transactionClosed:
            "the transaction is already over (SQLSTATE 25P02); begin a new one"
        case .server(let state, let message):
            "PostgreSQL error \(state): \(message)"
        }
    }
}

public enum LockError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The lock server could not be reached or dropped the connection.
    case unavailable(String)
    /// No answer within the client's timeout; the command may or may not have run.
    case timeout

    public var description: String {
        switch self {
        case .unavailable(let detail): "lock service (Redis) unavailable: \(detail); check that Redis is running and reachable"
        case .timeout: "lock service (Redis) did not answer in time; the command may or may not have taken effect"
        }
    }
}

public enum NetworkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No answer within the timeout. The request may have been processed (reply lost) or not.
    case timeout
    /// The peer could not be reached (refused, down, partitioned and reported as such).
    case unreachable(String)
    /// The peer answered with something that is not the API's.
    case malformedResponse(String)

    public var description: String {
        switch self {
        case .timeout: "no answer within the timeout; the request may or may not have been processed"
        case .unreachable(let peer): "\(peer) is unreachable; check that it is running"
        case .malformedResponse(let detail): "malformed response: \(detail)"
        }
    }
}
