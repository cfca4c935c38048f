// Scenario files: YAML a person writes, decoded into `BookingCore.Scenario`.
//
// The format (scenarios/README.md has the same with more words):
//
//     name: seed-experiment            # required, non-empty
//     description: ...                 # optional -> Scenario.summary
//     seed: 1                          # optional, 0 ... 2^64-1, default 1
//     variant: seed                    # optional: seed, or fixes joined by '+' (atomic+idempotent)
//     rooms:                           # required, non-empty; ids unique and >= 1, capacity >= 0
//       - {id: 1, name: Standard Single, capacity: 1}    # name optional, default "Room <id>"
//     inventory:                       # optional; default: every night of every user's stay
//       from: 2026-03-01               # a real date, strictly YYYY-MM-DD
//       nights: 30                     # >= 1; must cover every night of every stay
//     users:                           # required, non-empty list of groups
//       - count: 50                    # >= 1
//         room: 1                      # one of the rooms' ids
//         check_in: 2026-03-15
//         check_out: 2026-03-17        # after check_in; the stay is the nights before it
//         arrival: 0ms                 # optional, default 0ms: a duration (all at once), or
//                                      # {uniform: [0ms, 50ms]} (each user drawn in the range)
//     booking_replicas: 2              # optional, default 2, >= 1
//     client_timeout: 30s              # optional, default 30s, > 0
//     inventory_timeout: 5s            # optional, default 5s, > 0
//     lock: {ttl: 10s, backoff: [100ms, 200ms, 400ms]}   # optional, each key defaults to the
//                                      # seed's; one backoff pause per attempt, at least one
//     latency:                         # optional; a hop left out keeps LatencyProfile.lan's value
//       client-booking: {min: 1ms, max: 5ms}             # or one duration for a fixed delay
//       booking-redis: {min: 200us, max: 1ms, tail: {ratio: 1/100, min: 50ms, max: 200ms}}
//                                      # keys: BookingCore.Hop raw values
//     serving:                         # optional; a service left out serves every request at once
//       booking: {workers: 4, backlog: 2048, service_time: {min: 2ms, max: 6ms}}   # per replica
//       inventory: {workers: 4}        # workers >= 1; backlog >= 0, default 2048; service_time
//                                      # a distribution as in latency, default none
//     faults:                          # optional; see scenarios/README.md for every kind
//       - {kind: pause, target: booking, point: after-lock-acquired, duration: 12s}
//       - {kind: reply-loss, hop: booking-inventory, ratio: 1/50}
//       - {kind: partition, between: [booking-1, redis], at: 50ms, duration: 2s}
//     slo: {p95: 1.5s, mean: 1.0s}     # optional, each key defaults to the seed's objective
//     expect: {successes: 1}           # optional -> Scenario.expectedSuccesses, >= 0
//
// Durations are a whole or decimal number and a unit, ns, us, ms or s (`1.5s`, `200us`), read
// with integer arithmetic so `1.5s` is exactly 1,500,000,000 ns; negative ones and ones finer
// than a nanosecond are errors. Ratios are `n/d` with 0 <= n <= d and d > 0. Whole numbers may
// use `_` between digits (`5_000`). A key with no value (`seed:`) counts as absent.
//
// The loader composes Yams's node tree and decodes it by hand rather than through `Codable`:
// nodes carry their line and column, so every error can point at the exact spot, and unknown
// keys (typos) can be caught instead of silently ignored.

import BookingCore
import Foundation
import Yams

public enum ScenarioLoader {
    /// Reads and decodes the scenario file at `path`; errors name `path` as given. `variant:`
    /// names one of `variants`.
    public static func load(path: String, variants: VariantRegistry = .standard) throws(ScenarioError) -> Scenario {
        let reader = NodeReader(file: path, variants: variants)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw reader.error(.fileNotFound, at: nil, "no such scenario file")
        }
        guard !isDirectory.boolValue else {
            throw reader.error(.unreadableFile, at: nil, "is a directory; expected a scenario file (.yaml)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw reader.error(.unreadableFile, at: nil, "cannot be read; check its permissions")
        }
        return try parse(yaml: try utf8Text(Array(data), reader), file: path, variants: variants)
    }

    /// Decodes scenario YAML; `file` labels the errors (a path, or a name such as `<stdin>`).
    public static func parse(yaml: String, file: String, variants: VariantRegistry = .standard) throws(ScenarioError) -> Scenario {
        let reader = NodeReader(file: file, variants: variants)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw syntaxError(error, yaml: yaml, reader)
        }
        guard let root else {
            throw reader.error(.missingKey, line: 1, column: 1, "the file holds no scenario; it needs at least 'name', 'rooms' and 'users'")
        }
        return try reader.scenario(root)
    }

    /// The top-level keys, in the order the format documents them.
    public static let topLevelKeys = [
        "name", "description", "seed", "variant", "rooms", "inventory", "users", "booking_replicas",
        "client_timeout", "inventory_timeout", "lock", "latency", "serving", "faults", "slo", "expect",
    ]

    private static func utf8Text(_ bytes: [UInt8], _ reader: NodeReader) throws(ScenarioError) -> String {
        // Validate by hand rather than let `String(decoding:)` replace bad bytes, so the error
        // can say where the bad byte is.
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var line = 1, column = 1
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
            case .emptyInput:
                break decoding
            case .error:
                throw reader.error(.unreadableFile, line: line, column: column, "is not UTF-8 text; save the file as UTF-8")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The character at a libyaml mark (1-based line, column in Unicode scalars).
    private static func character(in yaml: String, at mark: Mark) -> Unicode.Scalar? {
        var line = 1, column = 1
        for scalar in yaml.unicodeScalars {
            if line == mark.line, column == mark.column { return scalar }
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
            if line > mark.line { return nil }
        }
        return nil
    }

    private static func syntaxError(_ error: any Error, yaml: String, _ reader: NodeReader) -> ScenarioError {
        guard let yamlError = error as? YamlError else {
            return reader.error(.syntax, at: nil, "invalid YAML: \(error)")
        }
        func withContext(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return "invalid YAML: \(problem)" }
            return "invalid YAML: \(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
        }
        switch yamlError {
        case let .scanner(context, problem, mark, _):
            // libyaml's wording for a tab says nothing about tabs.
            if character(in: yaml, at: mark) == "\t" {
                return reader.error(.syntax, at: mark, "invalid YAML: tabs cannot indent YAML; use spaces")
            }
            return reader.error(.syntax, at: mark, withContext(problem, context))
        case let .parser(context, problem, mark, _):
            return reader.error(.syntax, at: mark, withContext(problem, context))
        case let .composer(context, problem, mark, _):
            if problem == "but found another document" {
                return reader.error(.syntax, at: mark, "invalid YAML: a scenario file holds one document, but a second one starts here")
            }
            return reader.error(.syntax, at: mark, withContext(problem, context))
        case let .duplicatedKeysInMapping(duplicates, context):
            // Yams marks the first occurrence only; the repeat has no mark to report.
            let keys = duplicates.map(reader.quoted).joined(separator: ", ")
            return reader.error(.syntax, at: context.mark, "key \(keys) appears more than once in this mapping (first here); each key may appear once")
        case let .reader(problem, offset, _, _):
            guard let offset else { return reader.error(.syntax, at: nil, "invalid YAML: \(problem)") }
            // Yams reports the offset in Characters.
            let before = yaml.prefix(offset)
            let line = before.reduce(1) { $1 == "\n" || $1 == "\r\n" ? $0 + 1 : $0 }
            let column = before.reversed().prefix { $0 != "\n" && $0 != "\r\n" }.reduce(1) { $0 + $1.unicodeScalars.count }
            return reader.error(.syntax, line: line, column: column, "invalid YAML: \(problem)")
        default:
            return reader.error(.syntax, at: nil, "invalid YAML: \(yamlError)")
        }
    }
}

// MARK: - Decoding, section by section

extension NodeReader {
    func scenario(_ root: Node) throws(ScenarioError) -> Scenario {
        let top = try mapping(root, "", allowed: ScenarioLoader.topLevelKeys)

        let name = try string(try top.required("name", self, expected: "text naming the scenario"), "name")
        guard !name.allSatisfy(\.isWhitespace) else {
            throw error(.invalidValue, at: top["name"]?.mark, "'name' must not be empty")
        }
        var summary = ""
        if let node = top["description"] { summary = trimmed(try string(node, "description")) }
        var seed: UInt64 = 1
        if let node = top["seed"] { seed = try unsigned(node, "seed") }
        var variant = Variant.seed
        if let node = top["variant"] { variant = try self.variant(node) }

        let rooms = try self.rooms(try top.required("rooms", self, expected: "a list of rooms like {id: 1, name: Standard Single, capacity: 1}"))
        let users = try self.users(
            try top.required("users", self, expected: "a list of user groups with count, room, check_in and check_out"),
            rooms: rooms)
        var inventoryNights: [Night]?
        if let node = top["inventory"] { inventoryNights = try inventory(node, heading: top.keyMark("inventory"), covering: users) }

        var scenario = Scenario(name: name, summary: summary, seed: seed, variant: variant, rooms: rooms,
                                inventoryNights: inventoryNights, users: users.map(\.group))
        if let node = top["booking_replicas"] { scenario.bookingReplicas = try integer(node, "booking_replicas", atLeast: 1, atMost: ScenarioLimits.replicas) }
        if let node = top["client_timeout"] { scenario.clientTimeout = try duration(node, "client_timeout", positive: true) }
        if let node = top["inventory_timeout"] { scenario.inventoryTimeout = try duration(node, "inventory_timeout", positive: true) }
        if let node = top["lock"] { scenario.lock = try lock(node) }
        if let node = top["latency"] { scenario.latency = try latency(node) }
        if let node = top["serving"] { (scenario.bookingServing, scenario.inventoryServing) = try serving(node) }
        if let node = top["faults"] { scenario.faults = try faults(node) }
        if let node = top["slo"] { scenario.slo = try slo(node) }
        if let node = top["expect"] { scenario.expectedSuccesses = try expectedSuccesses(node) }
        return scenario
    }

    private func variant(_ node: Node) throws(ScenarioError) -> Variant {
        let allowed = variants.syntax
        let text = try scalar(node, "variant", expected: allowed)
        guard let variant = variants.variant(named: text) else {
            throw error(.invalidValue, at: node.mark, "'variant' must be \(allowed); got \(quoted(text))")
        }
        return variant
    }

    private func rooms(_ node: Node) throws(ScenarioError) -> [RoomSpec] {
        let items = try sequence(node, "rooms", of: "rooms like {id: 1, name: Standard Single, capacity: 1}")
        guard !items.isEmpty else {
            throw error(.invalidValue, at: node.mark, "'rooms' must list at least one room, like {id: 1, name: Standard Single, capacity: 1}")
        }
        var rooms: [RoomSpec] = []
        var lines: [Int?] = []
        for (index, item) in items.enumerated() {
            let fields = try mapping(item, "rooms[\(index)]", allowed: ["id", "name", "capacity"])
            let idNode = try fields.required("id", self, expected: "a whole number >= 1")
            let id = RoomID(try integer(idNode, fields.childPath("id"), atLeast: 1))
            if let earlier = rooms.firstIndex(where: { $0.id == id }) {
                let line = lines[earlier].map { " (line \($0))" } ?? ""
                throw error(.invalidValue, at: idNode.mark, "room id \(id) is already used by rooms[\(earlier)]\(line); room ids must be unique")
            }
            var name = "Room \(id)"
            if let node = fields["name"] { name = try string(node, fields.childPath("name")) }
            let capacity = try integer(try fields.required("capacity", self, expected: "a whole number >= 0"),
                                       fields.childPath("capacity"), atLeast: 0)
            rooms.append(RoomSpec(id: id, name: name, capacity: capacity))
            lines.append(item.mark?.line)
        }
        return rooms
    }

    /// A user group with where it was written, for the inventory check that follows.
    struct PlacedGroup {
        var group: UserGroup
        var path: String
        var mark: Mark?
    }

    private func users(_ node: Node, rooms: [RoomSpec]) throws(ScenarioError) -> [PlacedGroup] {
        let items = try sequence(node, "users", of: "user groups with count, room, check_in and check_out")
        guard !items.isEmpty else {
            throw error(.invalidValue, at: node.mark, "'users' must list at least one group, like {count: 50, room: 1, check_in: 2026-03-15, check_out: 2026-03-17}")
        }
        var groups: [PlacedGroup] = []
        var total = 0
        for (index, item) in items.enumerated() {
            let path = "users[\(index)]"
            let fields = try mapping(item, path, allowed: ["count", "room", "check_in", "check_out", "arrival"])
            let count = try integer(try fields.required("count", self, expected: "a whole number >= 1"), fields.childPath("count"), atLeast: 1,
                                    atMost: (ScenarioLimits.users.maximum - total, ScenarioLimits.users.why + ", at most \(ScenarioLimits.users.maximum) users in all"))
            total += count

            let roomIDs = rooms.map(\.id.description).joined(separator: ", ")
            let roomNode = try fields.required("room", self, expected: "one of the rooms' ids (\(roomIDs))")
            let roomText = try scalar(roomNode, fields.childPath("room"), expected: "one of the rooms' ids (\(roomIDs))")
            guard let roomNumber = ValueSyntax.integer(roomText), rooms.contains(where: { $0.id == RoomID(roomNumber) }) else {
                throw error(.invalidValue, at: roomNode.mark, "'\(fields.childPath("room"))' must be one of the rooms' ids (\(roomIDs)); got \(quoted(roomText))")
            }

            let checkIn = try date(try fields.required("check_in", self, expected: "a date YYYY-MM-DD"), fields.childPath("check_in"))
            let checkOutNode = try fields.required("check_out", self, expected: "a date YYYY-MM-DD after check_in")
            let checkOut = try date(checkOutNode, fields.childPath("check_out"))
            guard let stay = Stay(room: RoomID(roomNumber), checkIn: checkIn, checkOut: checkOut) else {
                throw error(.invalidValue, at: checkOutNode.mark, "'\(fields.childPath("check_out"))' (\(checkOut)) must be after check_in (\(checkIn)): a stay is at least one night")
            }
            guard stay.nightCount <= ScenarioLimits.nights.maximum else {
                throw error(.invalidValue, at: checkOutNode.mark, "'\(fields.childPath("check_out"))' makes a stay of \(stay.nightCount) nights; "
                    + "it may last at most \(ScenarioLimits.nights.maximum) (\(ScenarioLimits.nights.why))")
            }
            var arrival = Arrival.at(.zero)
            if let node = fields["arrival"] { arrival = try self.arrival(node, fields.childPath("arrival")) }
            groups.append(PlacedGroup(group: UserGroup(count: count, stay: stay, arrival: arrival), path: path, mark: item.mark))
        }
        return groups
    }

    private func arrival(_ node: Node, _ path: String) throws(ScenarioError) -> Arrival {
        let expected = "a duration like 0ms (everyone at once) or {uniform: [0ms, 50ms]}"
        switch node {
        case .scalar:
            return .at(try duration(node, path))
        case .mapping:
            let fields = try mapping(node, path, allowed: ["uniform"])
            let rangeNode = try fields.required("uniform", self, expected: "a list of two durations [from, to]")
            let range = try sequence(rangeNode, fields.childPath("uniform"), of: "two durations [from, to]")
            guard range.count == 2 else {
                throw error(.invalidValue, at: rangeNode.mark, "'\(fields.childPath("uniform"))' must be two durations [from, to]; got \(range.count) values")
            }
            let from = try duration(range[0], "\(fields.childPath("uniform"))[0]")
            let to = try duration(range[1], "\(fields.childPath("uniform"))[1]")
            guard from <= to else {
                throw error(.invalidValue, at: rangeNode.mark, "'\(fields.childPath("uniform"))' must run from the earlier to the later time; got [\(ValueSyntax.format(from)), \(ValueSyntax.format(to))]")
            }
            return .uniform(from, to)
        default:
            throw error(.wrongType, at: node.mark, "\(quoted(path)) must be \(expected); got \(describe(node))")
        }
    }

    private func inventory(_ node: Node, heading: Mark?, covering users: [PlacedGroup]) throws(ScenarioError) -> [Night] {
        let fields = try mapping(node, "inventory", allowed: ["from", "nights"])
        let from = try date(try fields.required("from", self, expected: "the first night with availability, YYYY-MM-DD"), "inventory.from")
        let count = try integer(try fields.required("nights", self, expected: "how many nights from 'from', >= 1"), "inventory.nights", atLeast: 1,
                                atMost: ScenarioLimits.nights)
        let last = from.adding(days: count - 1)
        let written = heading.map { " (line \($0.line))" } ?? ""
        for placed in users {
            let stay = placed.group.stay
            if let missing = stay.nights.first(where: { $0 < from || $0 > last }) {
                throw error(.invalidValue, at: placed.mark,
                            "'\(placed.path)' stays \(stay.checkIn)..\(stay.checkOut) but 'inventory'\(written) has no availability for the night of \(missing); it covers \(from) to \(last) (\(count) nights)")
            }
        }
        return (0..<count).map { from.adding(days: $0) }
    }

    private func lock(_ node: Node) throws(ScenarioError) -> LockPolicy {
        let fields = try mapping(node, "lock", allowed: ["ttl", "backoff"])
        var policy = LockPolicy.seed
        if let ttl = fields["ttl"] { policy.ttl = try duration(ttl, "lock.ttl", positive: true) }
        if let backoff = fields["backoff"] {
            let pauses = try sequence(backoff, "lock.backoff", of: "durations, one pause per attempt, like [100ms, 200ms, 400ms]")
            guard !pauses.isEmpty else {
                throw error(.invalidValue, at: backoff.mark, "'lock.backoff' must list at least one pause: the number of pauses is the number of attempts")
            }
            policy.backoff = []
            for (index, pause) in pauses.enumerated() {
                policy.backoff.append(try duration(pause, "lock.backoff[\(index)]"))
            }
        }
        return policy
    }

    private func latency(_ node: Node) throws(ScenarioError) -> LatencyProfile {
        let fields = try mapping(node, "latency", allowed: Hop.allCases.map(\.rawValue))
        var profile = LatencyProfile.lan
        for hop in Hop.allCases {
            if let value = fields[hop.rawValue] {
                profile.hops[hop] = try distribution(value, fields.childPath(hop.rawValue))
            }
        }
        return profile
    }

    private func distribution(_ node: Node, _ path: String) throws(ScenarioError) -> LatencyDistribution {
        if case .scalar = node { return .fixed(try duration(node, path)) }
        guard case .mapping = node else {
            throw error(.wrongType, at: node.mark, "\(quoted(path)) must be a duration like 1ms (fixed) or a range like {min: 1ms, max: 5ms}; got \(describe(node))")
        }
        let fields = try mapping(node, path, allowed: ["min", "max", "tail"])
        let (min, max) = try range(fields)
        var distribution = LatencyDistribution(min: min, max: max)
        if let tailNode = fields["tail"] {
            let tail = try mapping(tailNode, fields.childPath("tail"), allowed: ["ratio", "min", "max"])
            let ratio = try ratio(try tail.required("ratio", self, expected: "how often the slow path is taken, like 1/100"), tail.childPath("ratio"))
            let (tailMin, tailMax) = try range(tail)
            distribution.tail = LatencyDistribution.Tail(numerator: ratio.numerator, denominator: ratio.denominator, min: tailMin, max: tailMax)
        }
        return distribution
    }

    private func serving(_ node: Node) throws(ScenarioError) -> (booking: Serving, inventory: Serving) {
        let fields = try mapping(node, "serving", allowed: ["booking", "inventory"])
        func one(_ name: String) throws(ScenarioError) -> Serving {
            guard let value = fields[name] else { return .unlimited }
            let path = fields.childPath(name)
            let service = try mapping(value, path, allowed: ["workers", "backlog", "service_time"])
            var serving = Serving()
            if let workers = service["workers"] {
                serving.workers = try integer(workers, service.childPath("workers"), atLeast: 1, atMost: ScenarioLimits.workers)
            }
            if let backlog = service["backlog"] {
                serving.backlog = try integer(backlog, service.childPath("backlog"), atLeast: 0, atMost: ScenarioLimits.backlog)
            }
            if let time = service["service_time"] { serving.serviceTime = try distribution(time, service.childPath("service_time")) }
            return serving
        }
        return (try one("booking"), try one("inventory"))
    }

    /// `min` and `max` of a mapping, both required, in order.
    private func range(_ fields: Fields) throws(ScenarioError) -> (Duration, Duration) {
        let min = try duration(try fields.required("min", self, expected: "a duration like 1ms"), fields.childPath("min"))
        let maxNode = try fields.required("max", self, expected: "a duration like 5ms")
        let max = try duration(maxNode, fields.childPath("max"))
        guard min <= max else {
            throw error(.invalidValue, at: maxNode.mark, "'\(fields.childPath("max"))' (\(ValueSyntax.format(max))) must not be less than '\(fields.childPath("min"))' (\(ValueSyntax.format(min)))")
        }
        return (min, max)
    }

    private func faults(_ node: Node) throws(ScenarioError) -> [FaultSpec] {
        let items = try sequence(node, "faults", of: "faults like {kind: pause, target: booking, point: after-lock-acquired, duration: 12s}")
        var faults: [FaultSpec] = []
        for (index, item) in items.enumerated() {
            faults.append(try fault(item, "faults[\(index)]"))
        }
        return faults
    }

    /// One fault: its kind, what it hits, when it fires, and how big it is. The rules per kind
    /// are in `FaultRules`.
    private func fault(_ node: Node, _ path: String) throws(ScenarioError) -> FaultSpec {
        let fields = try mapping(node, path, allowed: ["kind", "target", "hop", "between", "at", "point", "ratio",
                                                       "from", "until", "duration", "activation", "limit", "retries"])
        let kinds = FaultKind.allCases.map(\.rawValue).joined(separator: ", ")
        let kindNode = try fields.required("kind", self, expected: "one of: \(kinds)")
        let kindText = try scalar(kindNode, fields.childPath("kind"), expected: "one of: \(kinds)")
        guard let kind = FaultKind(rawValue: kindText) else {
            throw error(.invalidValue, at: kindNode.mark, "'\(fields.childPath("kind"))' must be one of: \(kinds); got \(quoted(kindText))")
        }
        let rules = FaultRules.of(kind)
        let target = try faultTarget(fields, node, kind: kind, rules: rules)
        let hop = try faultHop(fields, node, kind: kind, rules: rules)
        let peers = try faultPeers(fields, node, kind: kind)
        let trigger = try faultTrigger(fields, node, kind: kind, rules: rules)
        if case .point(let point, _) = trigger, let target {
            // A point is reached by one service only: a fault aimed elsewhere would never fire.
            let reachedBy: ProcessSelector = point.isInventoryPoint ? .inventory : .booking(nil)
            guard reachedBy.matches(target) else {
                throw error(.invalidValue, at: fields["point"]?.mark, "'\(fields.childPath("point"))' \(point.rawValue) is reached by "
                            + "\(point.isInventoryPoint ? "the inventory service" : "a booking replica") only; give target: \(reachedBy.description)")
            }
        }
        let duration = try faultDuration(fields, node, kind: kind, rules: rules)
        var spec = FaultSpec(kind: kind, trigger: trigger, target: target, hop: hop, peers: peers, duration: duration ?? .zero)
        if let node = fields["activation"] {
            let parsed = try self.ratio(node, fields.childPath("activation"))
            spec.activation = Ratio(parsed.numerator, parsed.denominator)
        }
        if let node = fields["limit"] { spec.limit = try integer(node, fields.childPath("limit"), atLeast: 1) }
        if let node = fields["retries"] {
            guard kind == .clientRetry else { throw error(.invalidValue, at: node.mark, "only client-retry takes 'retries'") }
            spec.retries = try integer(node, fields.childPath("retries"), atLeast: 1)
        }
        return spec
    }

    private func processSelector(_ node: Node, _ path: String) throws(ScenarioError) -> ProcessSelector {
        let expected = "a process: booking, booking-N, inventory, client, user-N, redis, inventory_db or booking_db"
        let text = try scalar(node, path, expected: expected)
        guard let selector = ProcessSelector(text) else {
            throw error(.invalidValue, at: node.mark, "\(quoted(path)) must be \(expected); got \(quoted(text))")
        }
        return selector
    }

    /// A fault's `target`, checked against what its kind may hit.
    private func faultTarget(_ fields: Fields, _ node: Node, kind: FaultKind, rules: FaultRules) throws(ScenarioError) -> ProcessSelector? {
        var target: ProcessSelector?
        if let node = fields["target"] {
            guard rules.targets != nil else {
                throw error(.invalidValue, at: node.mark, "a \(kind.rawValue) fault takes no 'target'")
            }
            target = try processSelector(node, fields.childPath("target"))
            if let allowed = rules.targets, !allowed.contains(where: { $0.matches(target!) }) {
                throw error(.invalidValue, at: node.mark,
                            "\(quoted(fields.childPath("target"))) of a \(kind.rawValue) fault must be \(allowed.map(\.description).joined(separator: " or ")); got \(quoted(target!.description))")
            }
        } else if rules.needsTarget {
            throw error(.missingKey, at: node.mark, "a \(kind.rawValue) fault needs 'target' (\(rules.targets!.map(\.description).joined(separator: " or ")))")
        }
        return target
    }

    /// A fault's `hop`, for the kinds that act on one.
    private func faultHop(_ fields: Fields, _ node: Node, kind: FaultKind, rules: FaultRules) throws(ScenarioError) -> Hop? {
        var hop: Hop?
        let hops = Hop.allCases.map(\.rawValue).joined(separator: ", ")
        if let node = fields["hop"] {
            guard rules.needsHop else { throw error(.invalidValue, at: node.mark, "a \(kind.rawValue) fault takes no 'hop'") }
            let text = try scalar(node, fields.childPath("hop"), expected: "one of: \(hops)")
            guard let parsed = Hop(rawValue: text) else {
                throw error(.invalidValue, at: node.mark, "'\(fields.childPath("hop"))' must be one of: \(hops); got \(quoted(text))")
            }
            hop = parsed
        } else if rules.needsHop {
            throw error(.missingKey, at: node.mark, "a \(kind.rawValue) fault needs 'hop' (one of: \(hops))")
        }
        return hop
    }

    /// A partition's two sides.
    private func faultPeers(_ fields: Fields, _ node: Node, kind: FaultKind) throws(ScenarioError) -> [ProcessSelector] {
        var peers: [ProcessSelector] = []
        if let node = fields["between"] {
            guard kind == .partition else { throw error(.invalidValue, at: node.mark, "only a partition takes 'between'") }
            let items = try sequence(node, fields.childPath("between"), of: "two processes, like [booking-1, redis]")
            guard items.count == 2 else {
                throw error(.invalidValue, at: node.mark, "'\(fields.childPath("between"))' must name two processes, like [booking-1, redis]; got \(items.count)")
            }
            for (index, item) in items.enumerated() { peers.append(try processSelector(item, "\(fields.childPath("between"))[\(index)]")) }
        } else if kind == .partition {
            throw error(.missingKey, at: node.mark, "a partition needs 'between', like [booking-1, redis]")
        }
        return peers
    }

    /// When a fault fires: at a time, at a point of the algorithm, or per call with a ratio.
    private func faultTrigger(_ fields: Fields, _ node: Node, kind: FaultKind, rules: FaultRules) throws(ScenarioError) -> FaultTrigger {
        let triggerKeys = ["at", "point"].filter { fields[$0] != nil }
        guard triggerKeys.count <= 1 else {
            throw error(.invalidValue, at: fields[triggerKeys[1]]?.mark, "give either 'at' (a time) or 'point' (a place in the algorithm), not both")
        }
        var ratio = Ratio.always
        if let node = fields["ratio"] {
            let parsed = try self.ratio(node, fields.childPath("ratio"))
            ratio = Ratio(parsed.numerator, parsed.denominator)
        }
        let trigger: FaultTrigger
        if let node = fields["at"] {
            guard rules.triggers.contains(.at) else {
                throw error(.invalidValue, at: node.mark, "a \(kind.rawValue) fault cannot be pinned at a time; it fires per \(rules.callName) with 'ratio'")
            }
            if fields["ratio"] != nil { throw error(.invalidValue, at: fields["ratio"]?.mark, "'at' fires once; it takes no 'ratio'") }
            trigger = .at(try duration(node, fields.childPath("at")))
        } else if let node = fields["point"] {
            let points = AlgorithmPoint.allCases.map(\.rawValue).joined(separator: ", ")
            guard rules.triggers.contains(.point) else {
                throw error(.invalidValue, at: node.mark, "a \(kind.rawValue) fault cannot fire at a point of the algorithm")
            }
            let text = try scalar(node, fields.childPath("point"), expected: "one of: \(points)")
            guard let point = AlgorithmPoint(rawValue: text) else {
                throw error(.invalidValue, at: node.mark, "'\(fields.childPath("point"))' must be one of: \(points); got \(quoted(text))")
            }
            trigger = .point(point, ratio)
        } else {
            guard rules.triggers.contains(.ratio) else {
                throw error(.missingKey, at: node.mark, "a \(kind.rawValue) fault needs 'at' (a time) or 'point' (a place in the algorithm)")
            }
            if fields["ratio"] == nil && kind != .clientRetry {
                throw error(.missingKey, at: node.mark, "a \(kind.rawValue) fault needs 'ratio' (per \(rules.callName)), 'at' or 'point'")
            }
            var from: Duration?
            var until: Duration?
            if let node = fields["from"] { from = try duration(node, fields.childPath("from")) }
            if let node = fields["until"] { until = try duration(node, fields.childPath("until")) }
            trigger = .ratio(ratio, from: from, until: until)
        }
        if case .ratio = trigger {} else {
            for key in ["from", "until"] where fields[key] != nil {
                throw error(.invalidValue, at: fields[key]?.mark, "'\(key)' bounds a per-call 'ratio'; with 'at' or 'point' leave it out")
            }
        }
        return trigger
    }

    /// How long a fault lasts, where its kind has a duration.
    private func faultDuration(_ fields: Fields, _ node: Node, kind: FaultKind, rules: FaultRules) throws(ScenarioError) -> Duration? {
        var duration = rules.defaultDuration
        if let node = fields["duration"] {
            guard rules.durationMeaning != nil else { throw error(.invalidValue, at: node.mark, "a \(kind.rawValue) fault takes no 'duration'") }
            duration = try self.duration(node, fields.childPath("duration"), positive: true)
        } else if let meaning = rules.durationMeaning, duration == nil, !rules.durationOptional {
            throw error(.missingKey, at: node.mark, "a \(kind.rawValue) fault needs 'duration' (\(meaning))")
        }
        return duration
    }

    private func slo(_ node: Node) throws(ScenarioError) -> ServiceLevelObjective {
        let fields = try mapping(node, "slo", allowed: ["p95", "mean"])
        var slo = ServiceLevelObjective.seed
        if let p95 = fields["p95"] { slo.p95 = try duration(p95, "slo.p95", positive: true) }
        if let mean = fields["mean"] { slo.mean = try duration(mean, "slo.mean", positive: true) }
        return slo
    }

    private func expectedSuccesses(_ node: Node) throws(ScenarioError) -> Int? {
        let fields = try mapping(node, "expect", allowed: ["successes"])
        guard let successes = fields["successes"] else { return nil }
        return try integer(successes, "expect.successes", atLeast: 0)
    }

    private func trimmed(_ text: String) -> String {
        // A folded or literal block (`description: >`) ends with a newline nobody means.
        String(text.reversed().drop(while: \.isWhitespace).reversed())
    }
}

/// What each fault kind needs and allows in a scenario file.
struct FaultRules {
    enum TriggerKind { case at, point, ratio }
    var targets: [ProcessSelector]?
    var needsTarget = false
    var needsHop = false
    var triggers: Set<TriggerKind>
    /// What `duration` means for the kind; `nil`: it takes none.
    var durationMeaning: String?
    var defaultDuration: Duration?
    /// The kind may leave `duration` out (and has no default): it then means something else.
    var durationOptional = false
    /// The natural call a per-call ratio applies to.
    var callName: String

    static func of(_ kind: FaultKind) -> FaultRules {
        let processes: [ProcessSelector] = [.booking(nil), .inventory]
        switch kind {
        case .pause:
            return FaultRules(targets: processes + [.client(nil)], needsTarget: true, triggers: [.at, .point, .ratio],
                              durationMeaning: "how long the process stands still", callName: "point reached")
        case .crash:
            return FaultRules(targets: processes, needsTarget: true, triggers: [.at, .point, .ratio],
                              durationMeaning: "downtime before the restart", defaultDuration: .seconds(1), callName: "point reached")
        case .latencySpike:
            return FaultRules(needsHop: true, triggers: [.ratio], durationMeaning: "the most extra delay one message gets", callName: "message on the hop")
        case .requestLoss, .replyLoss:
            return FaultRules(needsHop: true, triggers: [.ratio], callName: "message on the hop")
        case .partition:
            return FaultRules(triggers: [.at, .point], durationMeaning: "how long until it heals", callName: "")
        case .redisRestart:
            return FaultRules(triggers: [.at, .point], durationMeaning: "downtime", defaultDuration: .milliseconds(100), callName: "")
        case .redisFailover:
            return FaultRules(triggers: [.at, .point], durationMeaning: "how far the replica lagged: writes of that last span are lost",
                              defaultDuration: .milliseconds(50), callName: "")
        case .redisClockJump:
            return FaultRules(triggers: [.at, .point], durationMeaning: "how far Redis's clock jumps forward", callName: "")
        case .connectionLoss:
            return FaultRules(targets: processes, needsTarget: true, triggers: [.at, .point, .ratio], callName: "SQL statement")
        case .postgresAbort:
            return FaultRules(targets: processes, triggers: [.point, .ratio], callName: "SQL statement")
        case .statementTimeout:
            return FaultRules(targets: processes, triggers: [.ratio], durationMeaning: "statement_timeout",
                              defaultDuration: .seconds(1), callName: "SQL statement")
        case .clientRetry:
            // Without a duration a client re-sends when its request times out (decided at the
            // first time-out); with one it is impatient on an attempt where the fault fires.
            return FaultRules(triggers: [.ratio], durationMeaning: "how long the client waits before re-sending",
                              durationOptional: true, callName: "timed-out request (with 'duration': per attempt)")
        }
    }
}

extension ProcessSelector {
    /// `booking` allows `booking-2` too.
    func matches(_ other: ProcessSelector) -> Bool {
        switch (self, other) {
        case (.booking(nil), .booking), (.client(nil), .client): true
        default: self == other
        }
    }
}
