import BookingCore

/// Seeded pseudo-random streams of our own.
///
/// The standard library's `Int.random(in:using:)` may change its algorithm between Swift
/// versions, which would silently change what a seed means; these generators and `below(_:)`
/// are fixed here and pinned by a golden test.

/// xoshiro256** (Blackman, Vigna 2018).
public struct SimRandom: Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// A stream derived from `seed` and a stream number, so that the scheduler's and the world's
    /// draws never disturb each other.
    public init(seed: UInt64, stream: UInt64) {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        s0 = mixer.next()
        s1 = mixer.next()
        s2 = mixer.next()
        s3 = mixer.next()
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// A uniform integer in `0..<bound` (Lemire's multiply-and-reject, exact).
    @inline(__always)
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "below(_:) needs a positive bound")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// A uniform integer in `range` (inclusive).
    public mutating func inRange(_ low: Int64, _ high: Int64) -> Int64 {
        guard high > low else { return low }
        let width = UInt64(bitPattern: high &- low) &+ 1
        if width == 0 { return Int64(bitPattern: next()) }
        if width <= UInt64(Int.max) { return low &+ Int64(below(Int(width))) }
        return low &+ Int64(bitPattern: next() % width)
    }

    /// `true` with probability `numerator / denominator`.
    public mutating func chance(_ numerator: Int, in denominator: Int) -> Bool {
        guard numerator > 0 else { return false }
        guard numerator < denominator else { return true }
        return below(denominator) < numerator
    }
}
