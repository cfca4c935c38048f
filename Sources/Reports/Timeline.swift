import BookingCore
import RunObservation
import Checking
import Simulation

/// The replay timeline, in the spirit of Jepsen's `timeline.html`: one lane per process, drawn on
/// virtual time. Users' requests, lock holds (Redis), transactions (each database), the work each
/// service did, and every operation it has no special drawing for (faults, future event kinds)
/// as a generic mark. Every mark has a `<title>` (hover for details) and `data-u`, the user it
/// worked for, which the page's script uses to light up one user's whole story.
struct Timeline {
    struct Input {
        var facts: TraceFacts
        var outcomes: [ClientOutcome]
        /// Users (1-based client index) the violations involve: always drawn, outlined in red.
        var highlighted: Set<Int>
        /// Numbered steps of the explanation: event index → step number.
        var steps: [Int: Int]
        var violations: [Violation]
    }

    /// Past this many users, the others are drawn as one aggregate lane and density strips.
    static let detailedUserLimit = 60
    static let featuredUserLimit = 40

    static let labelWidth = 190.0
    static let plotWidth = 1070.0
    static let axisHeight = 30.0
    static let bottomAxisHeight = 38.0

    struct Lane {
        var title: String
        var subtitle: String
        var cssClass: String
        var user: Int?
        var rowLabels: [String] = []
        var rowHeights: [Double]
        var y: Double = 0
        var height: Double { rowHeights.reduce(0, +) + 8 }
        func rowTop(_ row: Int) -> Double { y + 4 + rowHeights.prefix(row).reduce(0, +) }
        func rowMiddle(_ row: Int) -> Double { rowTop(row) + rowHeights[row] / 2 }
    }

    static func statusClass(_ status: Int?) -> String {
        guard let status else { return "s-none" }
        switch status {
        case 201: return "s-201"
        case 409: return "s-409"
        case 503: return "s-503"
        case 200..<300: return "s-2xx"
        case 400..<500: return "s-4xx"
        default: return "s-5xx"
        }
    }

    static func render(_ input: Input) -> HTML {
        let selection = Selection(input)
        let drawing = Drawing(input, selection: selection, layout: Layout(input, selection: selection))
        drawing.drawLaneLabels()
        drawing.drawIdleGaps()
        drawing.drawTimeAxis()
        drawing.drawRequests()
        drawing.drawHandling()
        drawing.drawMessages()
        drawing.drawLocks()
        drawing.drawTransactions()
        drawing.drawOtherEvents()
        drawing.drawAutocommitStatements()
        drawing.drawDensity()
        drawing.drawViolations()
        drawing.drawSteps()
        return drawing.svg()
    }

    /// Operations drawn by a dedicated rule above; anything else gets a generic mark.
    static let drawnOps: Set<TraceOp> = [
        .arrive, .complete, .send, .deliver, .respond, .receive, .timeout, .lockAcquire, .lockRelease, .lockExpired,
        .sqlBegin, .sqlCommit, .sqlRollback, .sqlSelect, .sqlUpdate, .sqlInsert, .sqlBlocked, .sqlError,
    ]
    /// Known, frequent operations that get a small mark in the lane's marks row rather than a
    /// full-height generic one.
    static let quietOps: Set<TraceOp> = [.sleep, .lockGet]
    static let statementOps: Set<TraceOp> = [.sqlSelect, .sqlUpdate, .sqlInsert, .sqlBlocked, .sqlError]

    static func role(_ kind: ProcessKind) -> String {
        switch kind {
        case .booking: return "booking service"
        case .inventory: return "inventory service"
        case .redis: return "lock"
        case .postgres: return "PostgreSQL"
        case .client: return "user"
        case .harness: return "simulator"
        }
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }

    var replacingDots: String { String(map { $0 == "." ? "-" : $0 }) }
}