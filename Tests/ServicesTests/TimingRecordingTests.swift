import Backends
import BookingCore
import RealHarness
@testable import Services
import Testing

/// The pieces of `overbook calibrate` that do no I/O: the `Server-Timing` header both ways, a
/// request's own time with its waits taken out, and the fit of samples to a distribution.
@Suite struct TimingRecordingTests {
    @Test func serverTimingHeaderRoundTrips() {
        #expect(TimingHTTP.headerValue(.microseconds(1_234)) == "total;dur=1.234")
        #expect(TimingHTTP.headerValue(.microseconds(5)) == "total;dur=0.005")
        #expect(TimingHTTP.total(inHeader: "total;dur=1.234") == .microseconds(1_234))
        #expect(TimingHTTP.total(inHeader: "db;dur=3, total;desc=\"all\";dur=12.5") == .microseconds(12_500))
        #expect(TimingHTTP.total(inHeader: "db;dur=3") == nil)
        #expect(TimingHTTP.total(inHeader: "total;dur=-1") == nil)
        #expect(TimingHTTP.total(inHeader: "total;dur=abc") == nil)
    }

    @Test func aRoundTripIsTheRequestsWaitAndHalfOfItLessTheServersTimeTheHopsDelay() {
        let recorder = TimingRecorder()
        let request = RequestTimer()
        RequestTimer.$current.withValue(request) {
            HopTimer(recorder, .bookingInventory).record(roundTrip: .microseconds(1_000), serverTime: .microseconds(400))
            HopTimer(recorder, .bookingRedis).record(roundTrip: .microseconds(200))
        }
        #expect(request.waited == .microseconds(1_200))
        let samples = recorder.snapshot(reset: true)
        #expect(samples[.bookingInventory] == [300_000])
        #expect(samples[.bookingRedis] == [100_000])
        #expect(recorder.snapshot() == TimingSamples())
    }

    @Test func theFitKeepsTheMedianAndTheShareOfSlowSamples() throws {
        // 90 samples 100..189 us, 10 slow ones at 2 ms.
        let samples = ((0..<90).map { Int64(100_000 + $0 * 1_000) } + Array(repeating: 2_000_000, count: 10)).sorted()
        let fitted = try #require(TimingFit.distribution(samples))
        let median = TimingFit.quantile(samples, 0.5)
        #expect(median == 150_000)
        #expect(fitted.min == .microseconds(105))
        #expect(fitted.max == .microseconds(195), "as far above the median as the 5th percentile is below it")
        let tail = try #require(fitted.tail)
        #expect(tail.numerator == 100 && tail.denominator == 1_000, "the 10 slow samples of 100")
        #expect(tail.min == .microseconds(195) && tail.max == .microseconds(3_805))
        #expect(TimingFit.distribution([]) == nil)
        #expect(TimingFit.distribution([7_000]) == LatencyDistribution(min: .microseconds(7), max: .microseconds(7)))
    }
}
