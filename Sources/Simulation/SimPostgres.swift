import BookingCore

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
    private var waits: [TransactionID: Wait] = [:]
    private var waitGeneration = 0
    private var owners: [TransactionID: ProcessContext] = [:]

    init(model: PostgresModel, process: ProcessContext) {
        self.model = model
        self.process = process
    }

    /// Runs `statement` now, in the server; `reply` gets its outcome when it finishes, which for
    /// a blocked statement is after the lock holder ends (or the deadlock check aborts it).
    func execute<T>(_ tx: TransactionID?, caller: ProcessContext, origin: Int, op: TraceOp, subject: TraceSubject,
                    _ statement: @escaping () -> StatementResult<T>, traceValue: @escaping (T) -> Int64,
                    reply: @escaping (Result<T, StoreError>) -> Void) {
        guard let world else { return }
        switch statement() {
        case .done(let value):
            world.trace(TraceEvent(time: world.now, process: caller, op: op, subject: subject,
                                   a: Int64(tx?.rawValue ?? 0), b: traceValue(value), origin: origin))
            reply(.success(value))
        case .failed(let error):
            if let tx { wakeWaiters(model.abort(tx)) }
            world.trace(TraceEvent(time: world.now, process: caller, op: .sqlError, subject: subject,
                                   a: Int64(tx?.rawValue ?? 0), text: error.sqlstate ?? "connection", origin: origin))
            reply(.failure(error))
        case .blocked(let holder):
            guard let tx else { return }
            world.trace(TraceEvent(time: world.now, process: caller, op: .sqlBlocked, subject: subject,
                                   a: Int64(tx.rawValue), b: Int64(holder.rawValue), origin: origin))
            waitGeneration += 1
            let generation = waitGeneration
            waits[tx] = Wait(generation: generation) { [unowned self] in
                self.execute(tx, caller: caller, origin: origin, op: op, subject: subject, statement, traceValue: traceValue, reply: reply)
            }
            world.simulator.schedule(after: world.deadlockTimeout) { [weak self] in
                guard let self, let world = self.world, self.waits[tx]?.generation == generation,
                      self.model.isDeadlocked(tx) else { return }
                self.waits[tx] = nil
                let waiters = self.model.abort(tx)
                world.trace(TraceEvent(time: world.now, process: caller, op: .sqlError, subject: subject,
                                       a: Int64(tx.rawValue), text: "40P01", origin: origin))
                reply(.failure(.deadlockDetected))
                self.wakeWaiters(waiters)
            }
        }
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
        owners[tx] = nil
        waits[tx] = nil
        guard let world else { return .failure(.connectionLost("no server")) }
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

    /// The connections of `process` are gone: the server rolls back their transactions.
    public func disconnect(_ process: ProcessID) {
        let lost = owners.filter { $0.value.id == process }.keys.sorted()
        for tx in lost {
            owners[tx] = nil
            waits[tx] = nil
            world?.trace(TraceEvent(time: world?.now ?? 0, process: self.process, op: .sqlRollback, subject: .process(process), a: Int64(tx.rawValue), b: 1, origin: 0))
            wakeWaiters(model.rollback(tx))
        }
    }
}

/// A client's connection to a simulated database: statements cross `hop` both ways.
struct SimSQLConnection: Sendable {
    let world: SimWorld
    let server: SimPostgresServer
    let caller: ProcessContext
    let hop: Hop

    func run<T>(_ tx: TransactionID?, _ op: TraceOp, _ subject: TraceSubject, _ label: StaticString,
                traceValue: @escaping (T) -> Int64 = { _ in 0 },
                _ statement: @escaping () -> StatementResult<T>) async throws(StoreError) -> T {
        let server = self.server
        let caller = self.caller
        let origin = RequestOrigin.user
        let result: Result<T, StoreError>? = await world.roundTrip(caller, hop, label) { reply in
            server.execute(tx, caller: caller, origin: origin, op: op, subject: subject, statement, traceValue: traceValue, reply: reply)
        }
        guard let result else { throw .connectionLost("the simulation has ended") }
        return try result.get()
    }

    func begin() async throws(StoreError) -> TransactionID {
        let server = self.server
        let caller = self.caller
        let origin = RequestOrigin.user
        let tx: TransactionID? = await world.roundTrip(caller, hop, "BEGIN") { reply in
            reply(server.begin(caller: caller, origin: origin))
        }
        guard let tx else { throw .connectionLost("the simulation has ended") }
        return tx
    }

    func end(_ tx: TransactionID, commit: Bool) async throws(StoreError) {
        let server = self.server
        let caller = self.caller
        let origin = RequestOrigin.user
        let result: Result<Void, StoreError>? = await world.roundTrip(caller, hop, commit ? "COMMIT" : "ROLLBACK") { reply in
            reply(server.end(tx, caller: caller, origin: origin, commit: commit))
        }
        guard let result else { throw .connectionLost("the simulation has ended") }
        try result.get()
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

    func commit() async throws(StoreError) { try await connection.end(tx, commit: true) }

    func rollback() async { try? await connection.end(tx, commit: false) }
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
