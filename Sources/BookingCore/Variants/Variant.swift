/// The algorithm variant a scenario names: a name and the confirm flow it runs.
///
/// Built-in variants are the seed and the seed with a set of `Fix`es (`atomic+idempotent`);
/// a package of its own can define more (`Variant(name:flow:)`) and list them in a
/// `VariantRegistry`. Two variants are the same when their names are: the name is what a
/// scenario file, a schedule file and the command line carry.
public struct Variant: Hashable, Sendable, CustomStringConvertible {
    /// The name a scenario's `variant:` and `--variant` give: `seed`, `atomic+idempotent`, ...
    public let rawValue: String
    /// The built-in fixes this variant applies to the seed (empty for the seed and for variants
    /// defined elsewhere).
    public let fixes: Set<Fix>
    public let flow: any ConfirmFlow

    /// A variant defined outside this package; `name` must not contain `+` or `,` (they join
    /// fixes and list variants on the command line).
    public init(name: String, flow: any ConfirmFlow) {
        self.rawValue = name
        self.fixes = []
        self.flow = flow
    }

    /// The seed with `fixes` applied, each at its step (`FixedFlow`).
    public init(fixes: Set<Fix>) {
        // crash-safe is built on atomic, idempotent reservations.
        let fixes = fixes.contains(.crashSafe) ? fixes.union([.atomic, .idempotent]) : fixes
        self.fixes = fixes
        if fixes.isEmpty {
            rawValue = "seed"
            flow = SeedFlow()
        } else {
            let ordered = fixes.sorted()
            rawValue = ordered.map(\.rawValue).joined(separator: "+")
            flow = FixedFlow(pieces: ordered.map(\.piece))
        }
    }

    /// The seed experiment's algorithm, kept faithfully, flaws included (`SeedFlow`).
    public static let seed = Variant(fixes: [])

    /// The crash-safe saga without the Redis lock (`FixedFlow.lockFree`).
    public static let lockFree = Variant(name: "lock-free", flow: FixedFlow.lockFree)

    /// Parses the built-in names: `seed` or `fix+fix+...`. Variants defined elsewhere are
    /// found through a `VariantRegistry`.
    public init?(rawValue: String) {
        if rawValue == "seed" {
            self = .seed
            return
        }
        var fixes: Set<Fix> = []
        for part in rawValue.split(separator: "+", omittingEmptySubsequences: false) {
            guard let fix = Fix(rawValue: String(part)) else { return nil }
            fixes.insert(fix)
        }
        self.init(fixes: fixes)
    }

    public func has(_ fix: Fix) -> Bool { fixes.contains(fix) }

    /// How the inventory service changes `available_quantity` under this variant.
    public var inventoryDecrement: InventoryService.Decrement { flow.inventoryDecrement }

    public var description: String { rawValue }

    public static func == (a: Variant, b: Variant) -> Bool { a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    /// The variants the matrix compares: the standard registry's.
    public static var allCases: [Variant] { VariantRegistry.standard.variants }
}

/// One confirm as the client sent it.
public struct ConfirmRequest: Hashable, Sendable {
    public var userID: UserID
    public var stay: Stay
    /// The client's request id; only variants that key writes on it use it.
    public var requestID: RequestID?

    public init(userID: UserID, stay: Stay, requestID: RequestID? = nil) {
        self.userID = userID
        self.stay = stay
        self.requestID = requestID
    }
}

/// How a variant confirms a booking, composed from the named steps of `BookingService`
/// (`Variants/Steps.swift`). Generic over the clock so that one flow runs in the simulator and
/// against the real stack.
public protocol ConfirmFlow: Sendable {
    func confirm<C: Clock<Duration>>(_ request: ConfirmRequest, on service: BookingService<C>) async -> APIResponse
    /// How the inventory service decrements; the seed's read-modify-write unless a flow says.
    var inventoryDecrement: InventoryService.Decrement { get }
    /// Whether every booking replica runs the recovery worker that resolves pending bookings.
    var resolvesPendingBookings: Bool { get }
    /// What this flow's `503` claims about the request; the history check reads it so.
    var unavailableMeans: UnavailableMeaning { get }
}

extension ConfirmFlow {
    public var inventoryDecrement: InventoryService.Decrement { .readModifyWrite }
    public var resolvesPendingBookings: Bool { false }
    public var unavailableMeans: UnavailableMeaning { .unknown }
}

/// What a `503 Service Unavailable` says about the request it answers.
public enum UnavailableMeaning: String, Hashable, Sendable, CaseIterable, Codable {
    /// It may have taken effect, then or later: the seed answers `503` after writes too (a
    /// timed-out reserve, a pending saga).
    case unknown
    /// Nothing was written for the request, and no attempt of it will write later: the fixed
    /// variants answer so only when nothing was written (`FixedFlow`), and with `IdempotentFix`
    /// make it stay true for an attempt of the same request still in flight.
    case noEffect = "no-effect"
}

/// One design fix to the seed algorithm; each is a `FixPiece` in its own file. Fixes combine
/// (`atomic+idempotent+crash-safe`); the empty combination is the seed itself.
public enum Fix: String, Hashable, Sendable, CaseIterable, Codable, Comparable {
    /// `Variants/Fenced.swift`
    case fenced
    /// `Variants/Atomic.swift`
    case atomic
    /// `Variants/Idempotent.swift`
    case idempotent
    /// `Variants/CrashSafe.swift`
    case crashSafe = "crash-safe"

    var piece: any FixPiece {
        switch self {
        case .fenced: FencedFix()
        case .atomic: AtomicFix()
        case .idempotent: IdempotentFix()
        case .crashSafe: CrashSafeFix()
        }
    }

    /// What the fix prevents and what it costs, for the registry and the command-line help.
    public var summary: String { piece.summary }

    public static func < (a: Fix, b: Fix) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}
