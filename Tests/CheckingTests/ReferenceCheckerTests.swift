import BookingCore
import Checking
import Testing

/// The fast linearizability checker against the brute-force reference on random small histories:
/// unknown answers, `503`s read as no effect, retries sharing a request id, pending rows and
/// final reads that agree, and ones made to disagree (a row dropped, added or doubled, an answer
/// flipped).
@Suite struct ReferenceCheckerTests {
    static let firstNight = Night(iso: "2026-03-15")!

    static let millisecond: Int64 = 1_000_000

    struct Generator {
        var random: SplitMix64

        mutating func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

        /// One history: up to six confirms of room 1 over three nights, capacities 0 to 2.
        mutating func history() -> BookingHistory {
            var capacities: [RoomNight: Int] = [:]
            for day in 0..<3 { capacities[RoomNight(room: RoomID(1), night: firstNight.adding(days: day))] = below(3) }
            var operations: [HistoryOperation] = []
            for index in 0..<(1 + below(6)) {
                if index > 0 && chance(25) {
                    // A retry: the same user, stay and request id, sent later.
                    var retry = operations[below(operations.count)]
                    retry.invokedAt += Int64(1 + below(10)) * ReferenceCheckerTests.millisecond
                    retry.completedAt = chance(15) ? nil : retry.invokedAt + Int64(below(10)) * ReferenceCheckerTests.millisecond
                    operations.append(retry)
                    continue
                }
                let checkIn = below(3)
                let stay = Stay(room: RoomID(1), checkIn: firstNight.adding(days: checkIn),
                                checkOut: firstNight.adding(days: checkIn + 1 + below(3 - checkIn)))!
                let sent = Int64(below(20)) * ReferenceCheckerTests.millisecond
                operations.append(HistoryOperation(user: UserID.numbered(1 + below(4)), request: RequestID("r\(index)"), stay: stay,
                                                   invokedAt: sent, completedAt: chance(15) ? nil : sent + Int64(below(10)) * ReferenceCheckerTests.millisecond,
                                                   outcome: .unknown))
            }
            let booked = answer(&operations, capacities: capacities)
            perturb(&operations)
            let final: FinalBookings? = chance(80) ? finalRead(operations, booked: booked) : nil
            return BookingHistory(operations: operations, capacities: capacities, finalBookings: final)
        }

        /// Gives every operation the answer of one sequential run (each at a random point of its
        /// interval); returns the requests it booked.
        mutating func answer(_ operations: inout [HistoryOperation], capacities: [RoomNight: Int]) -> [RequestID] {
            var points: [(Int64, Int)] = []
            for (index, operation) in operations.enumerated() {
                let end = operation.completedAt ?? operation.invokedAt + 30 * ReferenceCheckerTests.millisecond
                let span = Int((end - operation.invokedAt) / ReferenceCheckerTests.millisecond)
                points.append((operation.invokedAt + Int64(below(span + 1)) * ReferenceCheckerTests.millisecond, index))
            }
            var left = capacities
            var booked: [RequestID] = []
            for (_, index) in points.sorted(by: { $0 < $1 }) {
                let operation = operations[index]
                let books = booked.contains(operation.request) || operation.roomNights.allSatisfy { (left[$0] ?? 0) >= 1 }
                if books && !booked.contains(operation.request) {
                    for night in operation.roomNights { left[night]! -= 1 }
                    booked.append(operation.request)
                }
                operations[index].outcome = books ? .booked(nil) : .refused
            }
            return booked
        }

        /// Hides answers (timeouts, `503`s) and sometimes lies.
        mutating func perturb(_ operations: inout [HistoryOperation]) {
            for index in operations.indices {
                let roll = below(100)
                if operations[index].completedAt == nil || roll < 25 {
                    operations[index].outcome = .unknown
                } else if roll < 40 {
                    operations[index].outcome = .noEffect
                } else if roll < 46 {
                    operations[index].outcome = operations[index].outcome == .refused ? .booked(nil) : .refused
                }
            }
        }

        /// The rows the run left, sometimes with one dropped, added, doubled or left pending.
        mutating func finalRead(_ operations: [HistoryOperation], booked: [RequestID]) -> FinalBookings {
            var rows: [Booking] = []
            func row(_ request: RequestID, _ status: BookingStatus = .confirmed) {
                let operation = operations.first { $0.request == request }!
                rows.append(Booking(id: BookingID(rows.count + 1), userID: operation.user, room: operation.stay.room,
                                    checkIn: operation.stay.checkIn, checkOut: operation.stay.checkOut, status: status,
                                    requestID: request))
            }
            for request in booked { row(request, chance(8) ? .pending : .confirmed) }
            switch below(10) {
            case 0 where !rows.isEmpty: rows.remove(at: below(rows.count))
            case 1: row(operations[below(operations.count)].request)
            case 2 where !booked.isEmpty: row(booked[below(booked.count)])
            case 3: row(operations[below(operations.count)].request, .cancelled)
            default: break
            }
            return FinalBookings(time: 1_000 * ReferenceCheckerTests.millisecond, bookings: rows)
        }
    }

    @Test func fastCheckerAgreesWithTheReferenceOn100000RandomHistories() {
        var generator = Generator(random: SplitMix64(seed: 20261201))
        let checker = LinearizabilityChecker()
        var linearizable = 0
        var disagreeing = 0
        var examples: [String] = []
        let cases = 100_000
        for _ in 0..<cases {
            let history = generator.history()
            let expected = ReferenceLinearizability.isLinearizable(history)
            let fast: Bool? = switch checker.check(history).verdict {
            case .linearizable: true
            case .notLinearizable: false
            case .unknown: nil
            }
            if expected { linearizable += 1 }
            if fast != expected {
                disagreeing += 1
                if examples.count < 5 {
                    examples.append("reference \(expected), checker \(fast.map(String.init) ?? "undecided"): "
                        + history.operations.map(\.description).joined(separator: "; ")
                        + " / capacities \(history.capacities.sorted { $0.key < $1.key }.map(\.value))"
                        + " / final \(history.finalBookings.map { $0.bookings.map { "\($0.requestID?.rawValue ?? "-"):\($0.status.rawValue)" } } ?? [])")
                }
            }
        }
        let report = examples.joined(separator: "\n")
        #expect(disagreeing == 0, "\(disagreeing) of \(cases) disagree; first:\n\(report)")
        // Both answers are well represented, so agreement means something.
        #expect(linearizable > cases / 5 && linearizable < cases * 4 / 5, "\(linearizable) of \(cases) linearizable")
    }
}

