import BookingCore
import RunObservation
import Checking
import Simulation

/// Number and time formatting for reports. Integer arithmetic throughout, so that a report reads
/// the same on every machine and locale.
enum Format {
    /// `0.708s`: milliseconds, as the seed's client and the CLI print latencies.
    static func seconds(_ nanoseconds: Int64) -> String { formatSeconds(nanoseconds) }

    /// `0.001738s`: microseconds, as `overbook replay` prints trace times.
    static func virtualTime(_ nanoseconds: Int64) -> String { formatVirtualTime(nanoseconds) }

    /// Short human form: `850 µs`, `47.6 ms`, `10.0 s`.
    static func short(_ nanoseconds: Int64) -> String {
        let magnitude = abs(nanoseconds)
        let sign = nanoseconds < 0 ? "-" : ""
        if magnitude == 0 { return "0 s" }
        if magnitude < 1_000_000 { return sign + "\(magnitude / 1_000) µs" }
        if magnitude < 1_000_000_000 { return sign + decimal(magnitude, unit: 1_000_000, digits: 1) + " ms" }
        return sign + decimal(magnitude, unit: 1_000_000_000, digits: magnitude < 100_000_000_000 ? 3 : 1) + " s"
    }

    /// `value / unit` rounded half up to `digits` decimals.
    static func decimal(_ value: Int64, unit: Int64, digits: Int) -> String {
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        let negative = value < 0
        let magnitude = abs(value)
        // Round in 128-bit-safe steps: magnitude * scale could overflow for huge values.
        let whole = magnitude / unit
        let remainder = magnitude % unit
        var fraction = (remainder * scale + unit / 2) / unit
        var integer = whole
        if fraction >= scale { integer += 1; fraction -= scale }
        let text = digits == 0 ? "\(integer)" : "\(integer)." + pad(fraction, digits)
        return (negative && (integer != 0 || fraction != 0) ? "-" : "") + text
    }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `100,000`.
    static func count(_ value: Int) -> String {
        let digits = String(abs(value))
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result += "," }
            result.append(character)
        }
        return (value < 0 ? "-" : "") + result
    }

    /// `98.0%` (one decimal), `100%`, `0%`.
    static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "0%" }
        if part == whole { return "100%" }
        if part == 0 { return "0%" }
        let tenths = (Int64(part) * 1000 + Int64(whole) / 2) / Int64(whole)
        return decimal(tenths, unit: 10, digits: 1) + "%"
    }

    /// `1 user`, `2 users`.
    static func plural(_ count: Int, _ singular: String, _ pluralForm: String? = nil) -> String {
        "\(Format.count(count)) " + (count == 1 ? singular : (pluralForm ?? singular + "s"))
    }

    /// `a`, `a and b`, `a, b and c`.
    static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }

    /// Coordinates in SVG: at most one decimal, no trailing `.0`.
    static func coordinate(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        guard tenths.isFinite else { return "0" }
        let integer = Int64(tenths)
        if integer % 10 == 0 { return String(integer / 10) }
        return (integer < 0 && integer > -10 ? "-" : "") + "\(integer / 10).\(abs(integer % 10))"
    }

    /// A stay the way people write it: `room 1 for 2026-03-15..17` (same month) or with full dates.
    static func stay(_ stay: Stay) -> String {
        let checkIn = stay.checkIn.civil
        let checkOut = stay.checkOut.civil
        if checkIn.year == checkOut.year && checkIn.month == checkOut.month {
            return "room \(stay.room) for \(stay.checkIn)..\(pad(Int64(checkOut.day), 2))"
        }
        return "room \(stay.room) for \(stay.checkIn)..\(stay.checkOut)"
    }

    static func status(_ status: Int?) -> String { status.map(String.init) ?? "no answer" }
}


