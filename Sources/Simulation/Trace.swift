import BookingCore
import RunObservation

/// What happened at one step. Fields are typed so that a run that records nothing still hashes
/// every event cheaply; text is built only when a person reads it.
public enum TraceOp: String, Sendable, Codable, CaseIterable {
    case arrive
    case send
    case deliver
    case respond
    case receive
    case timeout
    case lockAcquire = "lock.acquire"
    case lockRelease = "lock.release"
    case lockGet = "lock.get"
    case lockExpired = "lock.expired"
    case lockFence = "lock.fence"
    case sqlBegin = "sql.begin"
    case sqlSelect = "sql.select"
    case sqlUpdate = "sql.update"
    case sqlInsert = "sql.insert"
    case sqlBlocked = "sql.blocked"
    case sqlCommit = "sql.commit"
    case sqlRollback = "sql.rollback"
    case sqlError = "sql.error"
    case sleep
    case complete
    /// A fault fired: subject = its kind, a = its duration, text = the algorithm point if any.
    case fault
    /// A crashed process came back as a new incarnation.
    case restart
    /// A client sends the same request again after a timeout.
    case retry
}

public enum TraceSubject: Hashable, Sendable {
    case none
    case process(ProcessID)
    case key(String)
    case roomNight(RoomNight)
    case booking(BookingID)
    case request(String)
    case user(UserID)
}

/// Which user's request a task is working for: set by each client, carried across the
/// simulated network into the handlers it causes, so the timeline can say on whose behalf a
/// booking replica or the inventory acted. A task-local, hence deterministic.
public enum RequestOrigin {
    @TaskLocal public static var user: Int = 0
    /// Which of the user's sends (1: the first, 2: its first re-send, ...) the task serves:
    /// a re-sent request and the attempt it gave up on run side by side at the server.
    @TaskLocal public static var attempt: Int = 1
}

/// A fault point a request reached, with the faults that fired there. Noted only in a recorded
/// run and not hashed: reaching a point is no step of its own (recording them must not change
/// any seed's trace hash); a real-stack replay orders its barriers by them.
public struct PointPass: Sendable, Hashable {
    /// How many trace events came before it: its place among them.
    public var position: Int
    public var time: Int64
    public var process: ProcessContext
    public var point: AlgorithmPoint
    /// The user (1-based) and attempt the request serves; user 0 for background work.
    public var user: Int
    public var attempt: Int
    /// The scenario faults that fired there, in order.
    public var fired: [FaultSpec]
}

/// One step: virtual time, the acting process, the operation, its subject and up to three
/// numbers whose meaning depends on the operation (documented where each event is emitted and
/// rendered in `TraceEvent.description`).
public struct TraceEvent: Sendable {
    public var time: Int64
    public var process: ProcessContext
    public var op: TraceOp
    public var subject: TraceSubject
    public var a: Int64
    public var b: Int64
    public var c: Int64
    public var text: String
    /// The user (1-based) whose request caused this step; 0 when none.
    public var origin: Int


    public init(time: Int64, process: ProcessContext, op: TraceOp, subject: TraceSubject = .none,
                a: Int64 = 0, b: Int64 = 0, c: Int64 = 0, text: String = "", origin: Int = RequestOrigin.user) {
        self.time = time
        self.process = process
        self.op = op
        self.subject = subject
        self.a = a
        self.b = b
        self.c = c
        self.text = text
        self.origin = origin
    }
}

/// Collects events: always into a running 64-bit FNV-1a hash (the run's fingerprint), and into
/// a list when someone will read them.
public final class Trace: @unchecked Sendable {
    public enum Mode: Sendable {
        case hashOnly
        case record
    }

    public let mode: Mode
    public private(set) var events: [TraceEvent] = []
    public private(set) var points: [PointPass] = []
    public private(set) var count = 0
    private var hasher = FNV1a()

    public init(mode: Mode) { self.mode = mode }

    public var hash: UInt64 { hasher.value }

    /// Keeps one hash per task (process incarnation and the user it works for) of the events it
    /// took part in: what it has observed so far, which is what its local state depends on.
    /// Exhaustive search hashes states with it; off otherwise (it costs a lookup per event).
    public var tracksTasks = false
    private var taskHashes: [Int64: FNV1a] = [:]

    public func append(_ event: TraceEvent) {
        count += 1
        Trace.feed(event, into: &hasher)
        if tracksTasks {
            let key = Int64(event.process.id.kind.order) << 56 ^ Int64(event.process.id.index) << 32
                ^ Int64(event.process.incarnation) << 24 ^ Int64(event.origin)
            // Message and transaction numbers count sends and BEGINs across the whole world:
            // names whose values are an accident of the interleaving, never branched on.
            var observed = event
            switch event.op {
            case .send, .deliver, .respond, .receive, .timeout, .sqlBegin, .sqlSelect, .sqlUpdate, .sqlInsert, .sqlCommit,
                 .sqlRollback, .sqlError:
                observed.a = 0
            case .sqlBlocked:
                observed.a = 0
                observed.b = 0
            default:
                break
            }
            Trace.feed(observed, into: &taskHashes[key, default: FNV1a()])
        }
        if mode == .record { events.append(event) }
    }

    /// Notes a point reached (recorded runs only; see `PointPass`).
    public func note(_ point: AlgorithmPoint, by process: ProcessContext, at time: Int64, fired: [FaultSpec]) {
        guard mode == .record else { return }
        points.append(PointPass(position: count, time: time, process: process, point: point,
                                user: RequestOrigin.user, attempt: RequestOrigin.attempt, fired: fired))
    }

    /// Every task's observation hash, independent of the order the tasks were hashed in.
    public func digestTasks(into digest: inout UnorderedDigest) {
        for (key, hash) in taskHashes {
            var entry = hash
            entry.feed(key)
            digest.add(entry)
        }
    }

    private static func feed(_ event: TraceEvent, into hasher: inout FNV1a) {
        hasher.feed(event.time)
        hasher.feed(Int64(event.process.id.kind.order))
        hasher.feed(Int64(event.process.id.index))
        hasher.feed(Int64(event.process.incarnation))
        hasher.feed(event.op.rawValue)
        switch event.subject {
        case .none: hasher.feed(0)
        case .process(let id): hasher.feed(1); hasher.feed(Int64(id.kind.order)); hasher.feed(Int64(id.index))
        case .key(let key): hasher.feed(2); hasher.feed(key)
        case .roomNight(let key): hasher.feed(3); hasher.feed(Int64(key.room.rawValue)); hasher.feed(Int64(key.night.daysSinceEpoch))
        case .booking(let id): hasher.feed(4); hasher.feed(Int64(id.rawValue))
        case .request(let id): hasher.feed(5); hasher.feed(id)
        case .user(let user): hasher.feed(6); hasher.feed(user.rawValue)
        }
        hasher.feed(event.a)
        hasher.feed(event.b)
        hasher.feed(event.c)
        hasher.feed(event.text)
        hasher.feed(Int64(event.origin))
    }
}

/// A stable 64-bit hash (FNV-1a's multiply-xor over 64-bit words, with a shift to spread high
/// bits): identical across processes and Swift versions, unlike `Hasher`, and a word at a time
/// because every event of every run goes through it.
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}

    @inline(__always)
    public mutating func feed(_ number: Int64) {
        value = (value ^ UInt64(bitPattern: number)) &* 0x100_0000_01b3
        value ^= value >> 29
    }

    @inline(__always)
    public mutating func feed(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var index = 0
            while index + 8 <= bytes.count {
                feed(Int64(bitPattern: UInt64(littleEndian: UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self))))
                index += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count {
                tail |= UInt64(bytes[index]) << shift
                shift += 8
                index += 1
            }
            feed(Int64(bitPattern: tail))
        }
        feed(Int64(text.utf8.count))
    }
}

/// Combines element hashes so that the result does not depend on the order they were added in:
/// for hashing unordered state (dictionaries) without sorting, identically in every process.
public struct UnorderedDigest: Sendable {
    public private(set) var value: UInt64 = 0
    public private(set) var count = 0
    public init() {}
    public mutating func add(_ element: FNV1a) {
        var mixed = element
        mixed.feed(0x5bd1_e995)
        value &+= mixed.value
        count += 1
    }
    /// Feeds the combination (and how many elements it has) into an ordered hash.
    public func feed(into hasher: inout FNV1a) {
        hasher.feed(Int64(bitPattern: value))
        hasher.feed(Int64(count))
    }
}
