/// `12.345678s`-style rendering of virtual nanoseconds, microsecond precision.
public func formatVirtualTime(_ nanoseconds: Int64) -> String {
    let negative = nanoseconds < 0
    let micros = abs(nanoseconds) / 1_000
    let seconds = micros / 1_000_000
    let fraction = String(micros % 1_000_000)
    return (negative ? "-" : "") + "\(seconds)." + String(repeating: "0", count: 6 - fraction.count) + fraction + "s"
}

/// `1.234s` with millisecond precision, as the seed's client prints.
public func formatSeconds(_ nanoseconds: Int64) -> String {
    let millis = (nanoseconds + (nanoseconds >= 0 ? 500_000 : -500_000)) / 1_000_000
    let fraction = String(abs(millis) % 1000)
    return (millis < 0 ? "-" : "") + "\(abs(millis) / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction + "s"
}

/// `1.234ms` with microsecond precision, for the sub-millisecond delays real timings show.
public func formatMilliseconds(_ nanoseconds: Int64) -> String {
    let micros = (abs(nanoseconds) + 500) / 1_000
    let fraction = String(micros % 1_000)
    return (nanoseconds < 0 ? "-" : "") + "\(micros / 1_000)." + String(repeating: "0", count: 3 - fraction.count) + fraction + "ms"
}

/// A 64-bit hash (a trace's, a state's) as 16 hex digits.
public func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}
