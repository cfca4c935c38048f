import BookingCore
import RunObservation

/// A simulated PostgreSQL server: the `PostgresModel` plus what a server adds around it: each
/// statement runs when it arrives, a blocked statement waits in the server until the lock holder
/// ends, `deadlock_timeout` after blocking the waiter looks for a cycle and, finding one, is
/// aborted with 40P01; a lost client connection rolls its transaction back.
public final class SimPostgresServer: @unchecked Sendable {
    public let model: PostgresModel
    public let process: ProcessContext
    weak var world: SimWorld?

    private struct Wait {
        var generation: Int
        var retry: () -> Void
    }
    @exclusivity(unchecked) private var waits: [TransactionID: Wait] = [:]
    @exclusivity(unchecked) private var waitGeneration = 0
    @exclusivity(unchecked) private var owners: [TransactionID: ProcessContext] = [:]
    /// Transactions whose connection is gone: every further statement fails.
    @exclusivity(unchecked) private var lost: Set<TransactionID> = []
    /// Errors a fault planted for a process's next statement in a transaction.
    @exclusivity(unchecked) private var planted: [ProcessID: StoreError] = [:]

    init(model: PostgresModel, process: ProcessContext) {
        self.model = model
        self.process = process
    }

    /// Runs `statement` now, in the server; `reply` gets its outcome when it finishes, which for
    /// a blocked statement is after the lock holder ends (or the deadlock check aborts it, or
    /// `statement_timeout` cancels it).
    func execute<T>(_ tx: TransactionID?, caller: ProcessContext, origin: Int, op: TraceOp, subject: TraceSubject,
                    _ statement: @escaping () -> StatementResult<T>, traceValue: @escaping (T) -> Int64,
                    reply: @escaping (Result<T, StoreError>) -> Void) {
        guard let world else { return }
        var statementTimeout: Int64?
        if let tx {
            if lost.contains(tx) { return reply(.failure(.connectionLost("the server closed the connection"))) }
            if let error = planted.removeValue(forKey: caller.id) {
                return fail(tx, caller: caller, origin: origin, subject: subject, error, reply: reply)
            }
        }
        switch world.faults?.statementFault(by: caller.id) {
        case .abort(let error)?:
            return fail(tx, caller: caller, origin: origin, subject: subject, error, reply: reply)
        case .connectionLoss?:
            if let tx { closeConnection(tx, reason: "connection-loss fault") }
            return reply(.failure(.connectionLost("the server closed the connection")))
        case .timeout(let after)?:
            statementTimeout = after
        case nil:
            break
        }
        run(tx, caller: caller, origin: origin, op: op, subject: subject, statement, traceValue: traceValue,
            statementTimeout: statementTimeout, reply: reply)
    }

    private func run<T>(_ tx: TransactionID?, caller: ProcessContext, origin: Int, op: TraceOp, subject: TraceSubject,
                        _ statement: @escaping () -> StatementResult<T>, traceValue: @escaping (T) -> Int64,
                        statementTimeout: Int64?, reply: @escaping (Result<T, StoreError>) -> Void) {
        guard let world else { return }
        switch statement() {
        case .done(let value):
            world.trace(TraceEvent(time: world.now, process: caller, op: op, subject: subject,
                                   a: Int64(tx?.rawValue ?? 0), b: traceValue(value), origin: origin))
            reply(.success(value))
        case .failed(let error):
            fail(tx, caller: caller, origin: origin, subject: subject, error, reply: reply)
        case .blocked(let holder):
            guard let tx else { return }
            world.trace(TraceEvent(time: world.now, process: caller, op: .sqlBlocked, subject: subject,
                                   a: Int64(tx.rawValue), b: Int64(holder.rawValue), origin: origin))
            waitGeneration += 1
            let generation = waitGeneration
            waits[tx] = Wait(generation: generation) { [unowned self] in
                self.run(tx, caller: caller, origin: origin, op: op, subject: subject, statement, traceValue: traceValue,
                         statementTimeout: statementTimeout, reply: reply)
            }
            world.simulator.schedule(after: world.deadlockTimeout) { [weak self] in
                guard let self, self.waits[tx]?.generation == generation, self.model.isDeadlocked(tx) else { return }
                self.waits[tx] = nil
                world.coverage.hit(.deadlockAborted)
                self.fail(tx, caller: caller, origin: origin, subject: subject, .deadlockDetected, reply: reply)
            }
            if let statementTimeout {
                world.simulator.schedule(after: statementTimeout) { [weak self] in
                    guard let self, self.waits[tx]?.generation == generation else { return }
                    self.waits[tx] = nil
                    world.coverage.hit(.statementTimeoutFired)
                    self.fail(tx, caller: caller, origin: origin, subject: subject, .statementTimeout, reply: reply)
                }
            }
        }
    }

    /// The statement failed: its transaction is aborted (locks released, waiters re-run).
    private func fail<T>(_ tx: TransactionID?, caller: ProcessContext, origin: Int, subject: TraceSubject, _ error: StoreError,
                         reply: (Result<T, StoreError>) -> Void) {
        guard let world else { return }
        world.trace(TraceEvent(time: world.now, process: caller, op: .sqlError, subject: subject,
                               a: Int64(tx?.rawValue ?? 0), text: error.sqlstate ?? "connection", origin: origin))
        if let tx { wakeWaiters(model.abort(tx)) }
        reply(.failure(error))
    }

    private func wakeWaiters(_ waiters: [TransactionID]) {
        for waiter in waiters {
            guard let wait = waits.removeValue(forKey: waiter) else { continue }
            wait.retry()
        }
    }

    func begin(caller: ProcessContext, origin: Int) -> TransactionID {
        let tx = model.begin()
        owners[tx] = caller
        world?.trace(TraceEvent(time: world?.now ?? 0, process: caller, op: .sqlBegin, subject: .process(process.id), a: Int64(tx.rawValue), origin: origin))
        return tx
    }

    func end(_ tx: TransactionID, caller: ProcessContext, origin: Int, commit: Bool) -> Result<Void, StoreError> {
        guard let world else { return .failure(.connectionLost("no server")) }
        if lost.contains(tx) {
            return commit ? .failure(.connectionLost("the server closed the connection")) : .success(())
        }
        owners[tx] = nil
        waits[tx] = nil
        if commit, let error = planted.removeValue(forKey: caller.id) {
            world.trace(TraceEvent(time: world.now, process: caller, op: .sqlError, subject: .process(process.id),
                                   a: Int64(tx.rawValue), text: error.sqlstate ?? "", origin: origin))
            wakeWaiters(model.rollback(tx))
            return .failure(error)
        }
        if commit {
            switch model.commit(tx) {
            case .done(let waiters):
                world.trace(TraceEvent(time: world.now, process: caller, op: .sqlCommit, subject: .process(process.id), a: Int64(tx.rawValue), b: 1, origin: origin))
                world.onCommit?(self)
                wakeWaiters(waiters)
                return .success(())
            case .failed(let error):
                world.trace(TraceEvent(time: world.now, process: caller, op: .sqlCommit, subject: .process(process.id), a: Int64(tx.rawValue), b: 0, origin: origin))
                return .failure(error)
            case .blocked:
                return .failure(.server(sqlstate: "XX000", message: "commit cannot block"))
            }
        }
        world.trace(TraceEvent(time: world.now, process: caller, op: .sqlRollback, subject: .process(process.id), a: Int64(tx.rawValue), origin: origin))
        wakeWaiters(model.rollback(tx))
        return .success(())
    }

    /// The client side of `tx`'s connection went away (a crash, a timeout, a dropped
    /// connection): the server rolls the transaction back.
    func closeConnection(_ tx: TransactionID, reason: String) {
        guard model.isOpen(tx), let world else { return }
        lost.insert(tx)
        waits[tx] = nil
        world.trace(TraceEvent(time: world.now, process: process, op: .sqlRollback, subject: .process(owners[tx]?.id ?? process.id),
                               a: Int64(tx.rawValue), b: 1, text: reason, origin: 0))
        owners[tx] = nil
        wakeWaiters(model.rollback(tx))
    }

    /// The connections of `process` are gone: the server rolls back their transactions.
    public func disconnect(_ process: ProcessID) {
        for tx in owners.filter({ $0.value.id == process }).keys.sorted() {
            closeConnection(tx, reason: "\(process) disconnected")
        }
    }

    /// The next statement or commit of a transaction of `process` fails with `error`.
    func failNextStatement(of process: ProcessID, with error: StoreError) {
        if owners.values.contains(where: { $0.id == process }) { planted[process] = error }
    }
}

/// A client's connection to a simulated database: statements cross `hop` both ways; a client
/// that hears nothing for `postgresTimeout` gives the connection up, which rolls back its
/// transaction.
struct SimSQLConnection: Sendable {
    let world: SimWorld
    let server: SimPostgresServer
    let caller: ProcessContext
    let hop: Hop

    private func exchange<T>(_ tx: TransactionID?, _ label: StaticString, committing: Bool = false,
                             serve: @escaping (_ reply: @escaping (Result<T, StoreError>) -> Void) -> Void) async throws(StoreError) -> T {
        let outcome: SimWorld.Exchange<Result<T, StoreError>> = await world.exchange(
            caller, hop, to: server.process.id, label, timeout: world.postgresTimeout, serve: serve)
        switch outcome {
        case .reply(let result):
            return try result.get()
        case .timedOut(let lostReply):
            if let tx { server.closeConnection(tx, reason: "client gave up waiting") }
            if case .success(let value)? = lostReply {
                // The work happened; the client will never know. A lost BEGIN's transaction
                // holds no lock yet; the client drops that connection too.
                if let begun = value as? TransactionID { server.closeConnection(begun, reason: "client gave up waiting") }
                if committing { world.coverage.hit(.replyLostAfterCommit) }
            }
            throw .connectionLost("no answer from PostgreSQL in \(formatVirtualTime(world.postgresTimeout))")
        case .ended:
            throw .connectionLost("the simulation has ended")
        }
    }

    func run<T>(_ tx: TransactionID?, _ op: TraceOp, _ subject: TraceSubject, _ label: StaticString,
                traceValue: @escaping (T) -> Int64 = { _ in 0 },
                _ statement: @escaping () -> StatementResult<T>) async throws(StoreError) -> T {
        let server = self.server
        let caller = self.caller
        let origin = RequestOrigin.user
        return try await exchange(tx, label) { reply in
            server.execute(tx, caller: caller, origin: origin, op: op, subject: subject, statement, traceValue: traceValue, reply: reply)
        }
    }

    func begin() async throws(StoreError) -> TransactionID {
        let server = self.server
        let caller = self.caller
        let origin = RequestOrigin.user
        return try await exchange(nil, "BEGIN") { reply in
            reply(.success(server.begin(caller: caller, origin: origin)))
        }
    }

    func end(_ tx: TransactionID, commit: Bool) async throws(StoreError) {
        let server = self.server
        let caller = self.caller
        let origin = RequestOrigin.user
        try await exchange(tx, commit ? "COMMIT" : "ROLLBACK", committing: commit) { reply in
            reply(server.end(tx, caller: caller, origin: origin, commit: commit))
        }
    }
}

// MARK: booking_db

public struct SimBookingDatabase: BookingDatabase {
    let connection: SimSQLConnection

    public init(world: SimWorld, caller: ProcessContext) {
        connection = SimSQLConnection(world: world, server: world.bookingDatabase, caller: caller, hop: .bookingPostgres)
    }

    public func begin() async throws(StoreError) -> any BookingTransaction {
        SimBookingTransaction(connection: connection, tx: try await connection.begin())
    }

    public func booking(id: BookingID) async throws(StoreError) -> Booking? {
        let model = connection.server.model
        return try await connection.run(nil, .sqlSelect, .booking(id), "SELECT booking") {
            .done(model.bookings().first { $0.id == id })
        }
    }

    public func bookings(userID: UserID) async throws(StoreError) -> [Booking] {
        let model = connection.server.model
        return try await connection.run(nil, .sqlSelect, .user(userID), "SELECT bookings by user") {
            .done(model.bookings().filter { $0.userID == userID })
        }
    }

    public func allBookings() async throws(StoreError) -> [Booking] {
        let model = connection.server.model
        return try await connection.run(nil, .sqlSelect, .none, "SELECT bookings") { .done(model.bookings()) }
    }

    public func booking(requestID: RequestID) async throws(StoreError) -> Booking? {
        let model = connection.server.model
        return try await connection.run(nil, .sqlSelect, .request(requestID.rawValue), "SELECT booking by request id",
                                        traceValue: { Int64($0?.id.rawValue ?? 0) }) {
            .done(model.booking(requestID: requestID))
        }
    }

    public func pendingBookings() async throws(StoreError) -> [Booking] {
        let model = connection.server.model
        let pending = try await connection.run(nil, .sqlSelect, .none, "SELECT pending bookings", traceValue: { Int64($0.count) }) {
            .done(model.bookings().filter { $0.status == .pending })
        }
        // Only the recovery worker asks for pending bookings.
        for _ in pending { connection.world.coverage.hit(.pendingRecovered) }
        return pending
    }
}

struct SimBookingTransaction: BookingTransaction {
    let connection: SimSQLConnection
    let tx: TransactionID

    func insert(_ booking: NewBooking) async throws(StoreError) -> Booking {
        let model = connection.server.model
        let tx = self.tx
        return try await connection.run(tx, .sqlInsert, .user(booking.userID), "INSERT booking",
                                        traceValue: { Int64($0.id.rawValue) }) {
            model.insertBooking(booking, in: tx)
        }
    }

    func setStatus(of id: BookingID, from old: BookingStatus, to new: BookingStatus) async throws(StoreError) -> Bool {
        let model = connection.server.model
        let tx = self.tx
        return try await connection.run(tx, .sqlUpdate, .booking(id), "UPDATE booking status", traceValue: { $0 ? 1 : 0 }) {
            model.setStatus(of: id, from: old, to: new, in: tx)
        }
    }

    func advanceFence(_ resource: String, to token: Int) async throws(StoreError) -> Bool {
        try await fence(connection, tx, resource, token)
    }

    func commit() async throws(StoreError) { try await connection.end(tx, commit: true) }

    func rollback() async { try? await connection.end(tx, commit: false) }
}

/// The fence upsert, the same statement in either database.
private func fence(_ connection: SimSQLConnection, _ tx: TransactionID, _ resource: String, _ token: Int) async throws(StoreError) -> Bool {
    let model = connection.server.model
    let advanced = try await connection.run(tx, .sqlUpdate, .key("fence \(resource)"), "UPSERT fence", traceValue: { $0 ? Int64(token) : -1 }) {
        model.advanceFence(resource, to: token, in: tx)
    }
    if !advanced { connection.world.coverage.hit(.staleFenceRefused) }
    return advanced
}

// MARK: inventory_db

public struct SimInventoryDatabase: InventoryDatabase {
    let connection: SimSQLConnection

    public init(world: SimWorld, caller: ProcessContext) {
        connection = SimSQLConnection(world: world, server: world.inventoryDatabase, caller: caller, hop: .inventoryPostgres)
    }

    public func begin() async throws(StoreError) -> any InventoryTransaction {
        SimInventoryTransaction(connection: connection, tx: try await connection.begin())
    }

    public func availableQuantity(_ key: RoomNight) async throws(StoreError) -> Int? {
        let model = connection.server.model
        return try await connection.run(nil, .sqlSelect, .roomNight(key), "SELECT availability",
                                        traceValue: { Int64($0 ?? -1) }) {
            model.availableQuantity(key, in: nil)
        }
    }

    public func rooms() async throws(StoreError) -> [Room] {
        let model = connection.server.model
        return try await connection.run(nil, .sqlSelect, .none, "SELECT rooms") { .done(model.rooms) }
    }
}

struct SimInventoryTransaction: InventoryTransaction {
    let connection: SimSQLConnection
    let tx: TransactionID

    func availableQuantity(_ key: RoomNight) async throws(StoreError) -> Int? {
        let model = connection.server.model
        let tx = self.tx
        return try await connection.run(tx, .sqlSelect, .roomNight(key), "SELECT availability",
                                        traceValue: { Int64($0 ?? -1) }) {
            model.availableQuantity(key, in: tx)
        }
    }

    func setAvailableQuantity(_ key: RoomNight, to quantity: Int) async throws(StoreError) -> Int {
        let model = connection.server.model
        let tx = self.tx
        return try await connection.run(tx, .sqlUpdate, .roomNight(key), "UPDATE availability",
                                        traceValue: { Int64($0) }) {
            model.updateAvailability(key, in: tx) { _ in quantity }
        }
    }

    func decrementIfAvailable(_ key: RoomNight, by quantity: Int) async throws(StoreError) -> Bool {
        let model = connection.server.model
        let tx = self.tx
        return try await connection.run(tx, .sqlUpdate, .roomNight(key), "UPDATE availability (conditional)",
                                        traceValue: { Int64($0) }) {
            model.updateAvailability(key, in: tx, where: { $0 >= quantity }, set: { $0 - quantity })
        } == 1
    }

    func advanceFence(_ resource: String, to token: Int) async throws(StoreError) -> Bool {
        try await fence(connection, tx, resource, token)
    }

    func recordReservation(_ requestID: RequestID, stay: Stay) async throws(StoreError) -> Bool {
        let model = connection.server.model
        let tx = self.tx
        let recorded = try await connection.run(tx, .sqlInsert, .request(requestID.rawValue), "INSERT reservation", traceValue: { $0 ? 1 : 0 }) {
            model.recordReservation(requestID, stay: stay, in: tx)
        }
        if !recorded { connection.world.coverage.hit(.reservationReplayed) }
        return recorded
    }

    func removeReservation(_ requestID: RequestID) async throws(StoreError) -> Bool {
        let model = connection.server.model
        let tx = self.tx
        let removed = try await connection.run(tx, .sqlUpdate, .request(requestID.rawValue), "DELETE reservation", traceValue: { $0 ? 1 : 0 }) {
            model.removeReservation(requestID, in: tx)
        }
        if removed { connection.world.coverage.hit(.reservationReturned) }
        return removed
    }

    func increment(_ key: RoomNight, by quantity: Int) async throws(StoreError) -> Int {
        let model = connection.server.model
        let tx = self.tx
        return try await connection.run(tx, .sqlUpdate, .roomNight(key), "UPDATE availability (increment)",
                                        traceValue: { Int64($0) }) {
            model.updateAvailability(key, in: tx) { $0 + quantity }
        }
    }

    func commit() async throws(StoreError) { try await connection.end(tx, commit: true) }

    func rollback() async { try? await connection.end(tx, commit: false) }
}
