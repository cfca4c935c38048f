import BookingCore
@testable import Scenarios
import Testing

@Suite struct ValueSyntaxTests {
    @Test(arguments: [
        ("1.5s", Duration.nanoseconds(1_500_000_000)),
        ("200us", .nanoseconds(200_000)),
        ("5ms", .nanoseconds(5_000_000)),
        ("7ns", .nanoseconds(7)),
        ("0ms", .zero),
        ("0.000000001s", .nanoseconds(1)),
        ("1.250ms", .nanoseconds(1_250_000)),
        ("2.000000000000s", .seconds(2)),
        ("007s", .seconds(7)),
        ("9223372036s", .seconds(9_223_372_036)),
    ])
    func durationsAreExact(text: String, expected: Duration) {
        #expect(ValueSyntax.duration(text) == .success(expected))
    }

    @Test func decimalSecondsDoNotGoThroughDouble() {
        // 0.1 + 0.2 style drift would show up here with Double arithmetic.
        #expect(ValueSyntax.duration("0.3s") == .success(.nanoseconds(300_000_000)))
        #expect(ValueSyntax.duration("4.35s") == .success(.nanoseconds(4_350_000_000)))
        #expect(ValueSyntax.duration("1.5s") == .success(.milliseconds(1500)))
    }

    @Test(arguments: [
        ("fast", ValueSyntax.DurationProblem.malformed),
        ("5", .malformed), ("ms", .malformed), ("5 ms", .malformed), ("5MS", .malformed),
        ("1.s", .malformed), (".5s", .malformed), ("1e3ms", .malformed), ("5m", .malformed),
        ("", .malformed), ("-fast", .malformed), ("+5ms", .malformed), ("1_000ms", .malformed),
        ("-5ms", .negative), ("-0.5s", .negative),
        ("1.5ns", .finerThanNanosecond), ("0.0000000001s", .finerThanNanosecond), ("1.0001us", .finerThanNanosecond),
        ("9223372037s", .tooLarge), ("99999999999999999999ns", .tooLarge),
    ])
    func badDurations(text: String, problem: ValueSyntax.DurationProblem) {
        #expect(ValueSyntax.duration(text) == .failure(problem))
    }

    @Test func integers() {
        #expect(ValueSyntax.integer("50") == 50)
        #expect(ValueSyntax.integer("5_000") == 5_000)
        #expect(ValueSyntax.integer("-3") == -3)
        #expect(ValueSyntax.integer("1.0") == nil)
        #expect(ValueSyntax.integer("0x10") == nil)
        #expect(ValueSyntax.integer("_5") == nil)
        #expect(ValueSyntax.integer("5_") == nil)
        #expect(ValueSyntax.integer("5__0") == nil)
        #expect(ValueSyntax.integer("") == nil)
        #expect(ValueSyntax.integer("99999999999999999999") == nil)
        #expect(ValueSyntax.unsigned("18446744073709551615") == UInt64.max)
        #expect(ValueSyntax.unsigned("18446744073709551616") == nil)
    }

    @Test func ratios() {
        #expect(ValueSyntax.ratio("1/100")! == (1, 100))
        #expect(ValueSyntax.ratio("0/1")! == (0, 1))
        #expect(ValueSyntax.ratio("1/") == nil)
        #expect(ValueSyntax.ratio("1/2/3") == nil)
        #expect(ValueSyntax.ratio("-1/2") == nil)
        #expect(ValueSyntax.ratio("0.5") == nil)
    }

    @Test func dates() {
        #expect(ValueSyntax.date("2026-03-15") == .success(Night(iso: "2026-03-15")!))
        #expect(ValueSyntax.date("2024-02-29") == .success(Night(iso: "2024-02-29")!))
        #expect(ValueSyntax.date("2026-02-30") == .failure(.noSuchDay))
        #expect(ValueSyntax.date("2026-13-01") == .failure(.noSuchDay))
        #expect(ValueSyntax.date("2026-3-15") == .failure(.malformed))
        #expect(ValueSyntax.date("15/03/2026") == .failure(.malformed))
        #expect(ValueSyntax.date("2026-03-15T00:00") == .failure(.malformed))
    }

    @Test func formatRoundTrips() {
        for text in ["1s", "1500ms", "200us", "7ns", "0s"] {
            guard case .success(let duration) = ValueSyntax.duration(text) else {
                Issue.record("\(text) did not parse")
                continue
            }
            #expect(ValueSyntax.format(duration) == text)
        }
    }

    @Test func editDistance() {
        #expect(Scenarios.editDistance("sede", "seed") == 1)
        #expect(Scenarios.editDistance("kitten", "sitting") == 3)
        #expect(Scenarios.editDistance("name", "name") == 0)
        #expect(Scenarios.editDistance("", "abc") == 3)
    }
}
