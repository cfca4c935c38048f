import BookingCore

/// Every decision of a run goes through here, so that seed + recorded choices replay it exactly.
extension Simulator {
    private func record(_ kind: ChoiceKind, _ value: UInt64, _ width: UInt64) {
        if recordsChoices { choices.append(Choice(kind: kind, value: value, width: width)) }
    }

    /// A message's delay, drawn from `distribution` (or set by the strategy: exhaustive search
    /// gives every hop the same delay). Recorded as the delay itself.
    public func drawLatency(_ distribution: LatencyDistribution) -> Int64 {
        let low = distribution.min.nanoseconds, high = distribution.max.nanoseconds
        let tail = distribution.tail.flatMap { tail -> (numerator: Int, denominator: Int, low: Int64, high: Int64)? in
            tail.numerator > 0 ? (tail.numerator, tail.denominator, tail.min.nanoseconds, tail.max.nanoseconds) : nil
        }
        let value = source.latency(low: low, high: high, tail: tail)
        record(.latency, UInt64(bitPattern: value), 0)
        return value
    }

    /// `true` with probability `numerator / denominator`; a choice only when it is not certain.
    public func decide(_ kind: ChoiceKind, _ numerator: Int, in denominator: Int) -> Bool {
        guard numerator > 0 else { return false }
        guard numerator < denominator else { return true }
        let fires = source.decide(kind, numerator: numerator, denominator: denominator)
        record(kind, fires ? 1 : 0, 2)
        return fires
    }

    /// A value in `low...high`; a choice only when there is more than one.
    public func draw(_ kind: ChoiceKind, _ low: Int64, _ high: Int64) -> Int64 {
        guard high > low else { return low }
        let value = source.detail(kind, low: low, high: high)
        record(kind, UInt64(bitPattern: value &- low), UInt64(bitPattern: high &- low) &+ 1)
        return value
    }

    /// Bits that name something (lock tokens), on behalf of the current user.
    public func nameBits() -> UInt64 {
        let bits = source.name(origin: RequestOrigin.user)
        record(.name, bits, 0)
        return bits
    }
}
