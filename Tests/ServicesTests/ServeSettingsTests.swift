import Services
import Testing

/// `overbook serve`'s checks before a service starts, and the note its listening line carries.
@Suite struct ServeSettingsTests {
    func settings(host: String = "127.0.0.1", poolSize: Int = 10, workers: Int? = nil, backlog: Int = 0,
                  faultControl: Bool = false, recordTimings: Bool = false) -> ServeSettings {
        ServeSettings(host: host, poolSize: poolSize, workers: workers, backlog: backlog, faultControl: faultControl, recordTimings: recordTimings)
    }

    @Test func theChecksNameTheOption() {
        #expect(settings().problem(port: 0) == nil)
        #expect(settings().problem(port: 70_000) == "--port must be 0...65535, got 70000")
        #expect(settings(poolSize: 0).problem(port: 5001) == "--pool-size must be at least 1")
        #expect(settings(workers: 0).problem(port: 5001) == "--workers must be at least 1, got 0")
        #expect(settings(backlog: -1).problem(port: 5001) == "--backlog must be 0 or more, got -1")
        #expect(settings(host: "0.0.0.0", faultControl: true).problem(port: 5001)?.hasPrefix("--fault-control lets anyone") == true)
        #expect(settings(host: "0.0.0.0", recordTimings: true).problem(port: 5001)?.hasPrefix("--record-timings serves") == true)
        #expect(settings(host: "0.0.0.0").problem(port: 5001) == nil, "every interface is fine without the driver's endpoints")
    }

    @Test func theNoteSaysWhatIsServedBesidesTheAPI() {
        #expect(settings().note == "")
        #expect(settings(workers: 4, backlog: 2, faultControl: true, recordTimings: true).note
                == ", 4 sync workers, backlog 2, fault control on /_overbook/faults, timings on /_overbook/timings")
        #expect(settings().syncWorkers == nil && settings(workers: 2).syncWorkers != nil)
    }
}
