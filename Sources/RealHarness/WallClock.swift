/// Wall-clock seconds since this call: the `now` the search, shrink and sweep code of
/// `Checking` and `Reports` is given (they read no time themselves).
public func wallSeconds() -> @Sendable () -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    return {
        let (seconds, attoseconds) = (clock.now - start).components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
