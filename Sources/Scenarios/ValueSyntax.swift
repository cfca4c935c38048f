import BookingCore

/// The textual forms of scalar values in scenario files, parsed by hand: YAML's own typing would
/// read `1.5s` as a string but `1.5` as a float, and a float cannot hold every nanosecond count.
/// Everything here is integer arithmetic so a file means the same on every machine.
enum ValueSyntax {
    enum DurationProblem: Error, Equatable {
        case malformed
        case negative
        case finerThanNanosecond
        case tooLarge
    }

    private static let unitNanoseconds: [(suffix: String, nanoseconds: Int64, fractionDigits: Int)] = [
        // Longest suffix first: "ms" and "ns" must not be read as "s".
        ("ns", 1, 0),
        ("us", 1_000, 3),
        ("ms", 1_000_000, 6),
        ("s", 1_000_000_000, 9),
    ]

    /// `<digits>[.<digits>]<unit>` with unit `ns`, `us`, `ms` or `s`, exactly (no rounding).
    static func duration(_ text: String) -> Result<Duration, DurationProblem> {
        if text.hasPrefix("-") {
            // Only call it negative when the rest is a duration, so `-fast` still reads as malformed.
            if case .success = duration(String(text.dropFirst())) { return .failure(.negative) }
            return .failure(.malformed)
        }
        guard let unit = unitNanoseconds.first(where: { text.hasSuffix($0.suffix) }) else { return .failure(.malformed) }
        let number = Array(text.utf8.dropLast(unit.suffix.utf8.count))
        let dot = number.firstIndex(of: UInt8(ascii: "."))
        let wholeDigits = number[..<(dot ?? number.endIndex)]
        var fractionDigits = dot.map { number[($0 + 1)...] } ?? []
        guard !wholeDigits.isEmpty, wholeDigits.allSatisfy(isDigit),
              dot == nil || !fractionDigits.isEmpty, fractionDigits.allSatisfy(isDigit) else {
            return .failure(.malformed)
        }
        // Trailing zeros add no precision: `1.50ms` is as exact as `1.5ms`.
        while fractionDigits.last == UInt8(ascii: "0") { fractionDigits = fractionDigits.dropLast() }
        guard fractionDigits.count <= unit.fractionDigits else { return .failure(.finerThanNanosecond) }

        var whole: Int64 = 0
        for digit in wholeDigits {
            guard let next = accumulate(whole, digit) else { return .failure(.tooLarge) }
            whole = next
        }
        var fraction: Int64 = 0
        for digit in fractionDigits { fraction = fraction * 10 + Int64(digit - UInt8(ascii: "0")) }
        for _ in fractionDigits.count..<unit.fractionDigits { fraction *= 10 }

        let (scaled, overflow) = whole.multipliedReportingOverflow(by: unit.nanoseconds)
        guard !overflow else { return .failure(.tooLarge) }
        let (total, overflowAdding) = scaled.addingReportingOverflow(fraction)
        guard !overflowAdding else { return .failure(.tooLarge) }
        return .success(.nanoseconds(total))
    }

    /// A decimal integer with an optional leading `-`; `_` may separate digits (`5_000`), as in
    /// YAML 1.1 and Swift literals. `nil` when malformed or out of `Int`'s range.
    static func integer(_ text: String) -> Int? {
        let negative = text.hasPrefix("-")
        guard let magnitude = unsigned(negative ? String(text.dropFirst()) : text),
              magnitude <= UInt64(Int.max) else { return nil }
        return negative ? -Int(magnitude) : Int(magnitude)
    }

    /// Like `integer`, but unsigned and 64 bits wide (seeds).
    static func unsigned(_ text: String) -> UInt64? {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last, isDigit(first), isDigit(last) else { return nil }
        var value: UInt64 = 0
        var previousWasSeparator = false
        for byte in bytes {
            if byte == UInt8(ascii: "_") {
                guard !previousWasSeparator else { return nil }
                previousWasSeparator = true
                continue
            }
            previousWasSeparator = false
            guard isDigit(byte) else { return nil }
            let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowAdding) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow, !overflowAdding else { return nil }
            value = sum
        }
        return value
    }

    /// `numerator/denominator`, both plain non-negative integers; range rules are the caller's.
    static func ratio(_ text: String) -> (numerator: Int, denominator: Int)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2,
              parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(isDigit) }),
              let numerator = integer(String(parts[0])), let denominator = integer(String(parts[1])) else { return nil }
        return (numerator, denominator)
    }

    enum DateProblem: Error, Equatable {
        /// Not `YYYY-MM-DD` at all.
        case malformed
        /// The right form, but no such day (2026-02-30).
        case noSuchDay
    }

    static func date(_ text: String) -> Result<Night, DateProblem> {
        if let night = Night(iso: text) { return .success(night) }
        let bytes = Array(text.utf8)
        let wellFormed = bytes.count == 10 && bytes.indices.allSatisfy { index in
            index == 4 || index == 7 ? bytes[index] == UInt8(ascii: "-") : isDigit(bytes[index])
        }
        return .failure(wellFormed ? .noSuchDay : .malformed)
    }

    /// The shortest text that parses back to `duration`, for messages and documentation.
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        for (suffix, scale) in [("s", Int64(1_000_000_000)), ("ms", 1_000_000), ("us", 1_000)]
        where nanoseconds % scale == 0 {
            return "\(nanoseconds / scale)\(suffix)"
        }
        return "\(nanoseconds)ns"
    }

    private static func accumulate(_ value: Int64, _ digit: UInt8) -> Int64? {
        let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflowAdding) = times10.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
        return overflow || overflowAdding ? nil : sum
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
