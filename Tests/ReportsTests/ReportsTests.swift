import BookingCore
import RunObservation
import Checking
import Foundation
import Simulation
import Testing
@testable import Reports

@Suite struct HTMLBuilderTests {
    @Test func textAndAttributesAreEscaped() {
        let html = el("p", ["title": "a \"quoted\" <value> & 'more'"]) { "<script>alert(1)</script> & co" }.render()
        #expect(html == "<p title=\"a &quot;quoted&quot; &lt;value&gt; &amp; &#39;more&#39;\">&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</p>")
    }

    @Test func voidAndSVGElementsClose() {
        #expect(el("br").render() == "<br>")
        #expect(element("rect", [("x", "1")]).render() == "<rect x=\"1\"/>")
        #expect(el("div").render() == "<div></div>")
    }

    @Test func formatting() {
        #expect(Format.count(100_000) == "100,000")
        #expect(Format.count(7) == "7")
        #expect(Format.percent(47, of: 50) == "94.0%")
        #expect(Format.short(47_629_159) == "47.6 ms")
        #expect(Format.short(10_001_700_000) == "10.002 s")
        #expect(Format.short(850_000) == "850 µs")
        #expect(Format.coordinate(-0.34) == "-0.3")
        #expect(Format.coordinate(12.0) == "12")
        #expect(Format.stay(Stay(room: RoomID(1), checkIn: Night(iso: "2026-03-15")!, checkOut: Night(iso: "2026-03-17")!)!) == "room 1 for 2026-03-15..17")
        #expect(Format.list(["a", "b", "c"]) == "a, b and c")
    }

    @Test func timeScaleCompressesIdleStretchesAndStaysMonotone() {
        let times: [Int64] = [0, 1_000_000, 2_000_000, 3_000_000, 10_000_000_000, 10_001_000_000]
        let scale = TimeScale(times: times, left: 100, width: 1000)
        #expect(scale.pieces.contains { $0.isBreak })
        var previous = -1.0
        for time in stride(from: Int64(0), through: 10_001_000_000, by: 50_000_000) {
            let x = scale.x(time)
            #expect(x >= previous)
            previous = x
        }
        // The burst at the start gets real room, not a sliver.
        #expect(scale.x(3_000_000) - scale.x(0) > 300)
        #expect(abs(scale.x(10_001_000_000) - 1100) < 0.5)
    }
}

@Suite struct RunReportTests {
    static let html = RunReport.html(verdict: Fixtures.replay, context: Fixtures.context)

    @Test func hasEverySection() {
        let html = Self.html
        for heading in ["Criteria (the seed client&#39;s checks)", "Invariants", "Status distribution", "Latency", "Timeline", "Users", "Scenario"] {
            expectContains(html, "<h2>\(heading)</h2>")
        }
        let doctype = html.hasPrefix("<!DOCTYPE html>")
        #expect(doctype)
        expectContains(html, "<meta name=\"overbook-status\" content=\"PASS\">")
        expectContains(html, "<svg id=\"timeline\"")
        expectLacks(html, "What went wrong")
        // Scenario facts, seed, variant, commit and toolchain.
        for fact in ["seed-experiment", "abc1234", "Swift 6.3.1 (test)", "scenarios/seed-experiment.yaml", "lock:room:1:2026-03-15",
                     "client-booking", "None: the run had no injected faults."] {
            expectContains(html, fact)
        }
        expectContains(html, "<code>overbook replay scenarios/seed-experiment.yaml --seed 3</code>")
    }

    @Test func numbersMatchTheRun() throws {
        let verdict = Fixtures.replay
        let html = Self.html
        let statuses = try #require(html.section("Status distribution"))
        for (status, count) in verdict.statusCounts {
            expectContains(statuses, "<td>\(Sections.statusName(status))</td><td class=\"num\">\(count)</td>")
        }
        expectContains(statuses, "<b>\(verdict.observation.outcomes.count)</b>")
        let latency = try #require(html.section("Latency"))
        expectContains(latency, formatSeconds(verdict.latency.p95))
        expectContains(latency, "p95 \(formatSeconds(verdict.latency.p95))")
        expectContains(latency, "SLO p95 &lt; 1.500s")
        expectContains(latency, formatSeconds(verdict.latency.mean))
        let criteria = try #require(html.section("Criteria (the seed client&#39;s checks)"))
        for criterion in verdict.criteria {
            expectContains(criteria, escape(criterion.title))
            expectContains(criteria, "<td>\(escape(criterion.got))</td>")
        }
        let invariants = try #require(html.section("Invariants"))
        #expect(invariants.count(of: ">PASS</span>") == Invariant.allCases.count)
        for invariant in Invariant.allCases { #expect(invariants.contains(escape(invariant.title))) }
    }

    @Test func summaryLineSaysWhatHappened() {
        let verdict = Fixtures.replay
        let line = RunReport.summaryLine(verdict)
        let counts = Dictionary(uniqueKeysWithValues: verdict.statusCounts.map { ($0.status ?? 0, $0.count) })
        #expect(line.hasPrefix("\(counts[201] ?? 0) of 50 users booked room 1 for 2026-03-15..17; "))
        if let refused = counts[409] { #expect(line.contains("\(refused) refused (409)")) }
        if let gaveUp = counts[503] { #expect(line.contains("\(gaveUp) gave up on the lock (503)")) }
        expectContains(line, "; every invariant held")
        expectContains(Self.html, escape(line))
    }

    @Test func timelineHasALanePerProcessAndTheLockHold() {
        let html = Self.html
        for lane in ["booking-1", "booking-2", "inventory", "redis", "inventory_db", "booking_db"] {
            expectContains(html, ">\(lane)<tspan")
        }
        for user in 1...50 { expectContains(html, ">user_\(user)<tspan") }
        let facts = TraceFacts(events: Fixtures.replay.simulated.events)
        #expect(facts.locks.count >= 1)
        let lockBars = html.count(of: "class=\"lock\" data-u=") + html.count(of: "class=\"lock expired\" data-u=")
        #expect(lockBars == facts.locks.count)
        let requestBars = html.count(of: "class=\"req ")
        #expect(requestBars == 50)
        // Hover details: the winning lock's token and every transaction.
        let winner = facts.locks[0]
        expectContains(html, "\(winner.key) held for user_\(winner.user)")
        let transactionBars = html.count(of: "class=\"tx\" data-u=")
        #expect(transactionBars == facts.transactions.filter { $0.outcome == .committed }.count)
    }

    @Test func selfContained() {
        for html in [Self.html, RunReport.html(verdict: Fixtures.run, context: Fixtures.context)] {
            expectLacks(html, "http://")
            expectLacks(html, "https://")
            expectLacks(html, " src=")
            expectLacks(html, "<link")
            expectLacks(html, "@import")
            expectLacks(html, "url(http")
        }
    }

    @Test func renderingIsAPureFunctionOfItsInputs() {
        let again = RunReport.html(verdict: Fixtures.replay, context: Fixtures.context)
        let same = again == Self.html
        #expect(same)
    }

    @Test func runWithoutTraceSaysHowToGetTheTimeline() {
        let html = RunReport.html(verdict: Fixtures.run, context: Fixtures.context)
        expectContains(html, "<meta name=\"overbook-kind\" content=\"run\">")
        expectLacks(html, "<svg id=\"timeline\"")
        expectContains(html, "This run did not record its trace")
        expectContains(html, "<h2>Latency</h2>")
    }

    @Test func userTextIsEscapedEverywhere() {
        var verdict = Fixtures.run
        verdict.scenario.name = "<img src=x onerror=alert(1)>"
        verdict.scenario.summary = "a <b>bold</b> & 'quoted' claim"
        var context = Fixtures.context
        context.commandLine = "overbook run '<script>'"
        context.gitCommit = "<i>"
        let html = RunReport.html(verdict: verdict, context: context)
        expectLacks(html, "<img")
        expectLacks(html, "<b>bold")
        expectLacks(html, "<i>")
        expectContains(html, "&lt;img src=x onerror=alert(1)&gt;")
        // Only our own script element.
        let scripts = html.count(of: "<script")
        #expect(scripts == 1)
    }
}

@Suite struct FailingRunTests {
    @Test func explainsADoubleBookingFromTheTrace() throws {
        let verdict = try #require(Fixtures.doubleBooking, "no seed in 1...50 double-booked the overlapping stays")
        #expect(verdict.scenario.faults.isEmpty)
        #expect(verdict.violatedInvariants.contains(.capacity))
        let facts = TraceFacts(events: verdict.simulated.events)
        let explanations = Explainer.explain(verdict, facts: facts)
        let incident = try #require(explanations.first { $0.violations.contains { $0.invariant == .capacity } })
        #expect(incident.title.contains("2026-03-16"))
        #expect(incident.users.sorted() == [1, 2])
        let words = ([incident.title] + incident.stories + incident.causes).joined(separator: "\n")
        expectContains(words, "user_1")
        expectContains(words, "user_2")
        expectContains(words, "2026-03-16")
        // Derived from the trace: the two different lock keys and both commits.
        expectContains(words, "lock:room:1:2026-03-15")
        expectContains(words, "lock:room:1:2026-03-16")
        expectContains(words, "different keys")
        #expect(incident.steps.contains { $0.text.contains("user_1") && $0.text.contains("commits") })
        #expect(incident.steps.contains { $0.text.contains("user_2") && $0.text.contains("commits") })

        let path = "scenarios/overlapping-stays.yaml"
        let html = RunReport.html(verdict: verdict, context: Fixtures.context(for: verdict, path: path))
        expectContains(html, "<meta name=\"overbook-status\" content=\"FAIL\">")
        expectContains(html, "<h2>What went wrong</h2>")
        expectContains(html, "<pre>overbook replay scenarios/overlapping-stays.yaml --seed \(verdict.seed)</pre>")
        let wrong = try #require(html.section("What went wrong"))
        for word in ["user_1", "user_2", "2026-03-16"] { expectContains(wrong, word) }
        // The steps are numbered on the timeline, and the involved users outlined.
        expectContains(html, "<g class=\"step\"")
        expectContains(html, "class=\"violation\"")
        expectContains(html, "lane-label lane-user hl")
        #expect(RunReport.summaryLine(verdict).contains("VIOLATED"))
    }
}

@Suite struct BatchReportTests {
    static let html = BatchReport.html(batch: Fixtures.batch, scenario: .seedExperiment(), firstSeed: Fixtures.batchSeeds.lowerBound,
                                       context: ReportContext(commandLine: "overbook run scenarios/seed-experiment.yaml --seed 1 --runs 6",
                                                              scenarioPath: "scenarios/seed-experiment.yaml", gitCommit: "abc1234",
                                                              toolchain: "Swift 6.3.1 (test)", generatedAt: "2026-01-01T00:00:00Z", wallSeconds: 0.5))

    @Test func hasEverySectionAndTheNumbers() throws {
        let batch = Fixtures.batch
        let html = Self.html
        for heading in ["Failures by invariant", "Criteria (runs that met each)", "Invariants", "Bookings (201) per run",
                        "Latency (all answered requests, pooled)", "Scenario"] {
            expectContains(html, "<h2>\(heading)</h2>")
        }
        expectContains(html, "seeds 1–6")
        expectContains(html, "Seeds per second</b>12")
        let requests = batch.statusTotals.values.reduce(0, +)
        let statuses = try #require(html.section("Status distribution (all \(requests) requests of all runs)"))
        for (status, count) in batch.statusTotals {
            expectContains(statuses, "<td>\(Sections.statusName(status))</td><td class=\"num\">\(count)</td>")
        }
        let pooled = LatencyStatistics(batch.latencies)
        let latency = try #require(html.section("Latency (all answered requests, pooled)"))
        expectContains(latency, "p95 \(formatSeconds(pooled.p95))")
        expectLacks(html, "http://")
        expectLacks(html, "https://")
        if batch.failedRuns == 0 { expectContains(html, "Every invariant held in all 6 runs") }
    }

    @Test func failuresLinkToTheirReplays() throws {
        var batch = BatchSummary()
        batch.add(Fixtures.run)
        let failing = try #require(Fixtures.doubleBooking)
        batch.add(failing)
        let html = BatchReport.html(batch: batch, scenario: Fixtures.overlappingStays(), firstSeed: 1,
                                    context: ReportContext(commandLine: "overbook run x.yaml --runs 2", scenarioPath: "x.yaml"),
                                    failingReplays: [.capacity: "replay-x-seed-\(failing.seed).html"])
        let failures = try #require(html.section("Failures by invariant"))
        expectContains(failures, "<a href=\"replay-x-seed-\(failing.seed).html\">replay report</a>")
        expectContains(failures, "overbook replay x.yaml --seed \(failing.seed)")
        expectContains(html, "<meta name=\"overbook-status\" content=\"FAIL\">")
    }

    @Test func aHundredThousandSeedsStayUnderFiveMegabytes() {
        // The page must not grow with the number of runs: fixed bins, a bounded CDF, tables keyed by status and invariant.
        var batch = BatchSummary()
        for _ in 0..<2_000 { batch.add(Fixtures.run) }
        let small = BatchReport.html(batch: Fixtures.batch, scenario: .seedExperiment(), firstSeed: 1, context: Fixtures.context)
        let large = BatchReport.html(batch: batch, scenario: .seedExperiment(), firstSeed: 1, context: Fixtures.context)
        #expect(large.utf8.count < 5_000_000)
        #expect(large.utf8.count < small.utf8.count * 2)
    }
}

@Suite struct IndexTests {
    @Test func listsReportsNewestFirst() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("overbook-index-\(getpid())").path
        try? FileManager.default.removeItem(atPath: directory)
        let older = "\(directory)/run-a.html"
        let newer = "\(directory)/replay-b.html"
        try ReportWriter.write(html: RunReport.html(verdict: Fixtures.run, context: Fixtures.context), to: older)
        try ReportWriter.write(html: RunReport.html(verdict: Fixtures.replay, context: Fixtures.context), to: newer)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000)], ofItemAtPath: older)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 2_000)], ofItemAtPath: newer)
        let index = try ReportIndex.write(directory: directory)
        #expect(index == "\(directory)/index.html")
        let html = try String(contentsOfFile: index, encoding: .utf8)
        let first = try #require(html.range(of: "href=\"replay-b.html\""))
        let second = try #require(html.range(of: "href=\"run-a.html\""))
        #expect(first.lowerBound < second.lowerBound)
        expectContains(html, "Replay of seed-experiment, seed 3")
        expectLacks(html, "href=\"index.html\"")
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func defaultPaths() {
        #expect(ReportPaths.replay(scenario: "seed-experiment", seed: 3) == "reports/replay-seed-experiment-seed-3.html")
        #expect(ReportPaths.batch(scenario: "a b", firstSeed: 1, runs: 1000) == "reports/run-a-b-seeds-1-1000.html")
    }
}

@Suite struct TraceFactsTests {
    static func event(_ seconds: Double, _ process: ProcessID, _ op: TraceOp, _ subject: TraceSubject = .none,
                      a: Int64 = 0, b: Int64 = 0, text: String = "", user: Int) -> TraceEvent {
        TraceEvent(time: Int64(seconds * 1e9), process: ProcessContext(id: process, incarnation: 0), op: op, subject: subject,
                   a: a, b: b, text: text, origin: user)
    }

    /// user_1's lock runs out while it is still working; user_2 takes the same key.
    static let expiredLockEvents: [TraceEvent] = {
        let key = TraceSubject.key("lock:room:1:2026-03-15")
        let booking1 = ProcessID(kind: .booking, index: 1)
        let booking2 = ProcessID(kind: .booking, index: 2)
        let redis = ProcessID(kind: .redis, index: 0)
        let db = TraceSubject.process(ProcessID(kind: .postgres, index: 1))
        return [
            event(0.001, booking1, .lockAcquire, key, a: 1, b: 10_000_000_000, text: "token-1", user: 1),
            event(0.002, booking2, .lockAcquire, key, a: 0, b: 10_000_000_000, text: "token-2", user: 2),
            event(10.1, redis, .lockExpired, key, user: 2),
            event(10.1, booking2, .lockAcquire, key, a: 1, b: 10_000_000_000, text: "token-3", user: 2),
            event(10.2, booking2, .sqlBegin, db, a: 2, user: 2),
            event(10.3, booking2, .sqlCommit, db, a: 2, b: 1, user: 2),
            event(12.0, booking1, .sqlBegin, db, a: 1, user: 1),
            event(12.1, booking1, .sqlCommit, db, a: 1, b: 1, user: 1),
            event(12.2, booking1, .lockRelease, key, a: 0, text: "token-1", user: 1),
        ]
    }()

    @Test func pairsLocksAndTransactions() {
        let facts = TraceFacts(events: Self.expiredLockEvents)
        #expect(facts.locks.count == 2)
        #expect(facts.attempts.count == 3)
        let first = facts.locks[0]
        #expect(first.expired && first.expiresAt == 10_001_000_000 && first.expiryIndex == 2)
        #expect(first.release?.deleted == false)
        #expect(!facts.locks[1].expired || facts.locks[1].release == nil)
        #expect(facts.transactions.map(\.outcome) == [.committed, .committed])
        #expect(facts.transactions.map(\.user) == [2, 1])
    }

    @Test func explainsALockThatExpiredUnderItsHolder() throws {
        var verdict = try #require(Fixtures.doubleBooking)
        verdict.simulation?.events = Self.expiredLockEvents
        let context = Explainer.Context(verdict: verdict, facts: TraceFacts(events: Self.expiredLockEvents))
        let causes = context.lockCauses([1, 2], night: RoomNight(room: RoomID(1), night: Night(iso: "2026-03-16")!))
        let sentence = try #require(causes.first { $0.contains("expired") })
        #expect(sentence.contains("user_1's lock on lock:room:1:2026-03-15 expired at 10.001 s"))
        #expect(sentence.contains("user_2 acquired the same key at 10.100 s"))
        #expect(sentence.contains("its last step at 12.200 s"))
    }
}
