import BookingCore
import Simulation

/// Swarm testing (as TigerBeetle's VOPR does): each seed draws its own fault mix and
/// intensities, and its own arrival spread and client timeout, so that a sweep explores many
/// different worlds instead of one world many times. The draws come from a stream of their own
/// (stream 4 of the seed), so `--swarm` with the same seed is the same world.
public enum Swarm {
    /// Every fault kind, each with probability 1/2, with parameters drawn from ranges chosen to
    /// reach the rare paths (pauses past the lock's TTL, losses, crashes mid-saga, failovers).
    public static func scenario(_ base: Scenario, seed: UInt64) -> Scenario {
        var random = SimRandom(seed: seed, stream: 4)
        var scenario = base
        func pick<T>(_ options: [T]) -> T { options[random.below(options.count)] }
        func ms(_ low: Int64, _ high: Int64) -> Duration { .milliseconds(random.inRange(low, high)) }
        func oneIn(_ low: Int, _ high: Int) -> Ratio { Ratio(1, Int(random.inRange(Int64(low), Int64(high)))) }
        let ttl = base.lock.ttl.nanoseconds / 1_000_000
        let services: [ProcessSelector] = [.booking(nil), .inventory]
        let peers: [ProcessSelector] = (1...max(1, base.bookingReplicas)).map { .booking($0) } + [.inventory, .redis, .inventoryDatabase, .bookingDatabase]
        let window = Int64(2_000)

        // The workload: from the seed's stampede to users trickling in over twice the TTL.
        let spread = pick([Int64(0), 50, 500, 5_000, 2 * ttl])
        scenario.users = base.users.map { group in
            var group = group
            if spread > 0 { group.arrival = .uniform(.zero, .milliseconds(spread)) }
            return group
        }
        scenario.clientTimeout = pick([.seconds(2), .seconds(5), base.clientTimeout])

        var faults: [FaultSpec] = []
        for kind in FaultKind.allCases where random.chance(1, in: 2) {
            switch kind {
            case .pause:
                let duration = pick([ms(100, 1_000), ms(ttl - 50, ttl - 1), ms(ttl, ttl * 2)])
                faults.append(FaultSpec(kind: .pause, trigger: .point(pick(AlgorithmPoint.bookingPoints), oneIn(1, 8)),
                                        target: pick(services), duration: duration, limit: Int(random.inRange(1, 3))))
            case .latencySpike:
                faults.append(FaultSpec(kind: .latencySpike, trigger: .ratio(oneIn(2, 30), from: nil, until: nil),
                                        hop: pick(Hop.allCases), duration: pick([ms(50, 500), ms(1_000, ttl + 2_000)])))
            case .requestLoss, .replyLoss:
                faults.append(FaultSpec(kind: kind, trigger: .ratio(oneIn(10, 200), from: nil, until: nil), hop: pick(Hop.allCases)))
            case .partition:
                var pair = [pick(peers), pick(peers)]
                while pair[0] == pair[1] { pair[1] = pick(peers) }
                faults.append(FaultSpec(kind: .partition, trigger: .at(ms(0, window + spread)), peers: pair,
                                        duration: pick([ms(100, 2_000), ms(ttl, ttl * 2)])))
            case .crash:
                faults.append(FaultSpec(kind: .crash, trigger: .point(pick(AlgorithmPoint.bookingPoints), oneIn(1, 10)),
                                        target: pick(services), duration: ms(50, 3_000), limit: Int(random.inRange(1, 3))))
            case .redisRestart:
                faults.append(FaultSpec(kind: .redisRestart, trigger: .at(ms(0, window + spread)), duration: ms(10, 500)))
            case .redisFailover:
                faults.append(FaultSpec(kind: .redisFailover, trigger: .point(.lockAcquired, oneIn(2, 20)), duration: ms(5, 100)))
            case .redisClockJump:
                faults.append(FaultSpec(kind: .redisClockJump, trigger: .at(ms(0, window + spread)), duration: ms(ttl / 2, ttl * 2)))
            case .connectionLoss:
                faults.append(FaultSpec(kind: .connectionLoss, trigger: .ratio(oneIn(20, 300), from: nil, until: nil), target: pick(services)))
            case .postgresAbort:
                faults.append(FaultSpec(kind: .postgresAbort, trigger: .ratio(oneIn(20, 300), from: nil, until: nil)))
            case .statementTimeout:
                faults.append(FaultSpec(kind: .statementTimeout, trigger: .ratio(oneIn(1, 5), from: nil, until: nil),
                                        target: pick(services), duration: ms(50, 2_000)))
            case .clientRetry:
                faults.append(FaultSpec(kind: .clientRetry, trigger: .ratio(.always, from: nil, until: nil), retries: Int(random.inRange(1, 3))))
            }
        }
        scenario.faults = base.faults + faults
        return scenario
    }
}
