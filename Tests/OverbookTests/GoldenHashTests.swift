import Foundation
import Testing

/// The trace hashes of fixed seeds, committed in `Golden/`: a refactor that claims to change no
/// behaviour must leave every one of them as it was. A change that alters a hash regenerates the
/// file with `scripts/golden-hashes.sh --write` and says why in its commit.
@Suite(.serialized) struct GoldenHashTests {
    static let golden = OverbookBinary.packageRoot.appendingPathComponent("Tests/OverbookTests/Golden")

    /// Each golden file starts with `# overbook hashes ARGS`; the rest is that command's output.
    static func cases() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: golden.path).filter { $0.hasSuffix(".txt") }.sorted()
    }

    @Test func goldenFilesCoverTheIssuesConfigurations() throws {
        let names = try Self.cases()
        for required in ["seed-experiment.txt", "last-room-one-night-pause-past-ttl.txt", "seed-experiment-swarm.txt"] {
            #expect(names.contains(required), "missing golden file \(required)")
        }
    }

    @Test(arguments: try GoldenHashTests.cases())
    func traceHashesMatchTheGoldenFile(_ name: String) throws {
        let text = try String(contentsOf: Self.golden.appendingPathComponent(name), encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = lines.removeFirst()
        let prefix = "# overbook hashes "
        #expect(header.hasPrefix(prefix), "\(name): first line must be '\(prefix)ARGS'")
        let arguments = ["hashes"] + header.dropFirst(prefix.count).split(separator: " ").map(String.init)
        let expected = lines.joined(separator: "\n")
        let result = try OverbookBinary.run(arguments)
        #expect(result.status == 0, "\(result.error)")
        let got = result.output.split(separator: "\n").map(String.init)
        let want = expected.split(separator: "\n").map(String.init)
        #expect(got.count == want.count, "\(name): \(got.count) hashes, golden has \(want.count)")
        let differing = zip(got, want).filter { $0 != $1 }
        #expect(differing.isEmpty, "\(name): \(differing.count) seeds changed hash, first: got \(differing.first?.0 ?? "") want \(differing.first?.1 ?? "")")
    }
}
