import BookingCore
import RunObservation

// MARK: Faults carried out

extension SimWorld {
    func isPartitioned(_ a: ProcessID, _ b: ProcessID) -> Bool {
        guard !partitions.isEmpty else { return false }
        partitions.removeAll { $0.until <= now }
        return partitions.contains { ($0.a == a && $0.b == b) || ($0.a == b && $0.b == a) }
    }

    /// Crashes `process`: its tasks never resume, its transactions roll back, its locks stay
    /// until they expire; it restarts as a new incarnation after `downtime`.
    public func crash(_ process: ProcessID, downtime: Int64) {
        let next = simulator.crash(process)
        crashedProcesses.insert(process)
        inventoryDatabase.disconnect(process)
        bookingDatabase.disconnect(process)
        simulator.schedule(after: downtime) { [self] in
            trace(TraceEvent(time: now, process: next, op: .restart, origin: 0))
            restarters[process]?(next)
        }
    }

    /// Carries out a fault now, on `process` where the fault aims at one.
    func carryOut(_ spec: FaultSpec, on process: ProcessID?, origin: Int, at point: AlgorithmPoint? = nil) {
        let target = process ?? spec.target.map { faults!.resolve($0) }
        let duration = spec.duration.nanoseconds
        coverage.hit(CoverageMark.fired(spec.kind))
        trace(TraceEvent(time: now, process: target.map { ProcessContext(id: $0, incarnation: simulator.incarnation(of: $0)) } ?? redisProcess,
                         op: .fault, subject: .key(spec.kind.rawValue), a: duration, text: point?.rawValue ?? "", origin: origin))
        switch spec.kind {
        case .pause:
            if let target { simulator.pause(target, until: now + duration) }
        case .crash:
            if let target { crash(target, downtime: duration) }
        case .partition:
            let peers = spec.peers.map { faults!.resolve($0) }
            if peers.count == 2 { partitions.append((peers[0], peers[1], now + duration)) }
        case .redisRestart:
            redis.flushAll()
            redisDownUntil = now + duration
        case .redisFailover:
            if redis.failover(losingWritesSince: now - duration) > 0 { coverage.hit(.redisFailoverLostKey) }
        case .redisClockJump:
            redis.clockOffset += duration
        case .connectionLoss:
            if let target {
                inventoryDatabase.disconnect(target)
                bookingDatabase.disconnect(target)
            }
        case .postgresAbort:
            if let target {
                inventoryDatabase.failNextStatement(of: target, with: .serializationFailure)
                bookingDatabase.failNextStatement(of: target, with: .serializationFailure)
            }
        case .latencySpike, .requestLoss, .replyLoss, .statementTimeout, .clientRetry:
            break
        }
    }
}
