import BookingCore
import RunObservation

extension TraceSubject: CustomStringConvertible {
    public var description: String {
        switch self {
        case .none: ""
        case .process(let id): id.description
        case .key(let key): key
        case .roomNight(let key): "availability(room \(key.room), \(key.night))"
        case .booking(let id): "booking \(id)"
        case .request(let id): "request \(id)"
        case .user(let user): user.rawValue
        }
    }
}

extension TraceEvent: CustomStringConvertible {
    /// What happened, in words; the meaning of `a`, `b`, `c` per operation is spelled out here.
    public var summary: String {
        switch op {
        case .arrive: "\(subject) sends its confirm (request \(a))"
        case .send: "sends \(text) to \(subject) (message \(a))"
        case .deliver: "receives \(text) from \(subject) (message \(a))"
        case .respond: "answers \(b) to \(subject) (message \(a))"
        case .receive: "gets \(b) from \(subject) (message \(a))"
        case .timeout: "times out waiting for \(subject) (message \(a))"
        case .lockAcquire: "SET \(subject) \(shortToken) NX PX \(b / 1_000_000) -> \(a == 1 ? "OK (lock acquired)" : "nil (held by another)")"
        case .lockRelease: "compare-and-delete \(subject) \(shortToken) -> \(a == 1 ? "released" : "NOT released (expired or foreign token)")"
        case .lockGet: "GET \(subject) -> \(text.isEmpty ? "nil" : text)"
        case .lockExpired: "key \(subject) expired (TTL elapsed)"
        case .lockFence: "INCR \(subject) -> fencing token \(a)"
        case .sqlBegin: "BEGIN tx\(a) on \(subject)"
        case .sqlSelect: a == 0 ? "SELECT \(subject) -> \(selectResult)" : "tx\(a): SELECT \(subject) -> \(selectResult)"
        case .sqlUpdate: "tx\(a): UPDATE \(subject) -> \(b) row\(b == 1 ? "" : "s")"
        case .sqlInsert: "tx\(a): INSERT INTO bookings for \(subject) -> id \(b)"
        case .sqlBlocked: "tx\(a): blocked on \(subject): row lock held by tx\(b)"
        case .sqlCommit: b == 1 ? "COMMIT tx\(a) on \(subject)" : "COMMIT tx\(a) on \(subject) failed"
        case .sqlRollback: b == 1 ? "connection lost: \(subject)'s tx\(a) rolled back" : "ROLLBACK tx\(a) on \(subject)"
        case .sqlError: "tx\(a): \(subject) failed with SQLSTATE \(text)"
        case .sleep: "sleeps \(Double(a) / 1e9)s"
        case .fault: "FAULT \(subject)" + (a > 0 ? " for \(formatVirtualTime(a))" : "") + (text.isEmpty ? "" : " at \(text)")
        case .restart: "restarts (incarnation \(process.incarnation))"
        case .retry: "retries its request after a timeout (attempt \(a))"
        case .complete: b > 0 ? "\(subject) done: \(a == 0 ? "no answer" : String(a)) after \(Double(b) / 1e9)s" : "\(subject) done: \(a == 0 ? "no answer" : String(a))"
        }
    }

    private var selectResult: String {
        if case .roomNight = subject { return b < 0 ? "no row" : "available_quantity \(b)" }
        return "rows"
    }

    private var shortToken: String { String(text.prefix(8)) }

    public var description: String {
        let time = formatVirtualTime(self.time)
        let who = process.description
        let cause = origin == 0 ? "" : "user_\(origin)"
        return time + "  " + who + String(repeating: " ", count: max(1, 13 - who.count))
            + cause + String(repeating: " ", count: max(1, 10 - cause.count)) + summary
    }

    /// One JSON object (a line of `--trace FILE`).
    public var jsonLine: String {
        "{\"t_ns\":\(time),\"process\":\(jsonString(process.description)),\"op\":\(jsonString(op.rawValue)),"
            + "\"subject\":\(jsonString(subject.description)),\"a\":\(a),\"b\":\(b),\"c\":\(c),"
            + "\"text\":\(jsonString(text)),\"origin_user\":\(origin),\"summary\":\(jsonString(summary))}"
    }
}

/// A JSON string literal with the escapes RFC 8259 requires.
public func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
