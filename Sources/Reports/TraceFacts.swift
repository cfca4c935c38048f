import BookingCore
import RunObservation
import Simulation

/// What a recorded trace says, paired up: lock holds from acquire to release or expiry,
/// transactions from BEGIN to COMMIT/ROLLBACK, messages from send to answer. The timeline draws
/// these and the explanations of violations quote them; both read the trace only through here.
struct TraceFacts {
    struct LockHold {
        var key: String
        var token: String
        var user: Int
        var process: ProcessContext
        var acquiredAt: Int64
        var acquireIndex: Int
        var ttl: Int64
        /// A compare-and-delete with this token: its time, event index and whether it deleted.
        var release: (time: Int64, index: Int, deleted: Bool)?
        /// The `lock.expired` event Redis logged for this key while this token held it.
        var expiryIndex: Int?

        var expiresAt: Int64 { acquiredAt &+ ttl }
        /// Released by its holder before the TTL ran out.
        var releasedInTime: Bool {
            guard let release else { return false }
            return release.deleted && release.time <= expiresAt
        }
        var expired: Bool { !releasedInTime }
        /// When the lock stopped protecting its holder.
        var end: Int64 { releasedInTime ? release!.time : expiresAt }
    }

    struct LockAttempt {
        var key: String
        var user: Int
        var time: Int64
        var index: Int
        var acquired: Bool
    }

    enum TransactionOutcome {
        case open, committed, commitFailed, rolledBack, lostConnection
    }

    struct Transaction {
        var database: ProcessID
        var number: Int64
        var process: ProcessContext
        var user: Int
        var begin: Int64
        var beginIndex: Int
        var end: Int64?
        var endIndex: Int?
        var outcome: TransactionOutcome = .open
        var statements: [Int] = []
    }

    struct Message {
        var id: Int64
        var from: ProcessContext
        var to: ProcessID
        var endpoint: String
        var user: Int
        var sentAt: Int64
        var sendIndex: Int
        var deliver: (time: Int64, index: Int, process: ProcessContext)?
        var respond: (time: Int64, index: Int, status: Int64)?
        var receive: (time: Int64, index: Int)?
        var timeout: (time: Int64, index: Int)?
    }

    var events: [TraceEvent]
    var locks: [LockHold] = []
    var attempts: [LockAttempt] = []
    var transactions: [Transaction] = []
    var messages: [Message] = []
    /// Event index → transaction index, for statements and transaction boundaries.
    var transactionOfEvent: [Int: Int] = [:]
    /// Event index → lock-hold index, for acquires, releases and expiries of held locks.
    var lockOfEvent: [Int: Int] = [:]
    var start: Int64 = 0
    var end: Int64 = 0

    init(events: [TraceEvent]) {
        self.events = events
        start = events.first?.time ?? 0
        end = events.last?.time ?? 0
        var openLock: [String: Int] = [:]        // key → hold currently holding it (by token)
        var holdByToken: [String: Int] = [:]      // key + token → hold
        var openTransaction: [String: Int] = [:]  // "db tx" → transaction
        var callerTransaction: [String: Int] = [:] // "caller tx" → transaction
        var messageIndex: [Int64: Int] = [:]

        func databaseOf(_ event: TraceEvent) -> ProcessID? {
            if event.process.id.kind == .postgres { return event.process.id }
            if case .process(let id) = event.subject, id.kind == .postgres { return id }
            if case .process(let id) = event.subject { return id }
            return nil
        }

        for (index, event) in events.enumerated() {
            switch event.op {
            case .lockAcquire:
                guard case .key(let key) = event.subject else { break }
                attempts.append(LockAttempt(key: key, user: event.origin, time: event.time, index: index, acquired: event.a == 1))
                if event.a == 1 {
                    let hold = LockHold(key: key, token: event.text, user: event.origin, process: event.process,
                                        acquiredAt: event.time, acquireIndex: index, ttl: event.b)
                    locks.append(hold)
                    openLock[key] = locks.count - 1
                    holdByToken[key + " " + event.text] = locks.count - 1
                    lockOfEvent[index] = locks.count - 1
                }
            case .lockRelease:
                guard case .key(let key) = event.subject, let hold = holdByToken[key + " " + event.text] else { break }
                if locks[hold].release == nil { locks[hold].release = (event.time, index, event.a == 1) }
                lockOfEvent[index] = hold
                if openLock[key] == hold { openLock[key] = nil }
            case .lockExpired:
                guard case .key(let key) = event.subject, let hold = openLock[key] else { break }
                locks[hold].expiryIndex = index
                lockOfEvent[index] = hold
                openLock[key] = nil
            case .sqlBegin:
                guard let database = databaseOf(event) else { break }
                transactions.append(Transaction(database: database, number: event.a, process: event.process, user: event.origin,
                                                begin: event.time, beginIndex: index))
                let id = transactions.count - 1
                openTransaction["\(database) \(event.a)"] = id
                callerTransaction["\(event.process) \(event.a)"] = id
                transactionOfEvent[index] = id
            case .sqlCommit, .sqlRollback:
                guard let database = databaseOf(event), let id = openTransaction.removeValue(forKey: "\(database) \(event.a)") else { break }
                transactions[id].end = event.time
                transactions[id].endIndex = index
                transactions[id].outcome = event.op == .sqlCommit ? (event.b == 1 ? .committed : .commitFailed)
                    : (event.b == 1 ? .lostConnection : .rolledBack)
                transactions[id].statements.append(index)
                transactionOfEvent[index] = id
                callerTransaction["\(transactions[id].process) \(event.a)"] = nil
            case .sqlSelect, .sqlUpdate, .sqlInsert, .sqlBlocked, .sqlError:
                guard event.a != 0, let id = callerTransaction["\(event.process) \(event.a)"] else { break }
                transactions[id].statements.append(index)
                transactionOfEvent[index] = id
            case .send:
                guard case .process(let to) = event.subject else { break }
                messages.append(Message(id: event.a, from: event.process, to: to, endpoint: event.text, user: event.origin,
                                        sentAt: event.time, sendIndex: index))
                messageIndex[event.a] = messages.count - 1
            case .deliver:
                if let id = messageIndex[event.a] { messages[id].deliver = (event.time, index, event.process) }
            case .respond:
                if let id = messageIndex[event.a] { messages[id].respond = (event.time, index, event.b) }
            case .receive:
                if let id = messageIndex[event.a] { messages[id].receive = (event.time, index) }
            case .timeout:
                if let id = messageIndex[event.a] { messages[id].timeout = (event.time, index) }
            default:
                break
            }
        }
        // Lock holds that run past the last event still hold the key until they expire.
        for hold in locks { end = max(end, hold.end) }
    }

    func locks(of user: Int) -> [LockHold] { locks.filter { $0.user == user } }
    func transactions(of user: Int) -> [Transaction] { transactions.filter { $0.user == user } }

    func events(of user: Int, where predicate: (TraceEvent) -> Bool) -> [(index: Int, event: TraceEvent)] {
        events.enumerated().compactMap { $0.element.origin == user && predicate($0.element) ? ($0.offset, $0.element) : nil }
    }
}

extension TraceSubject {
    var roomNight: RoomNight? {
        if case .roomNight(let key) = self { return key }
        return nil
    }
}
