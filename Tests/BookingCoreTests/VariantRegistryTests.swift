import BookingCore
import Testing

@Suite struct VariantRegistryTests {
    struct AlwaysFull: ConfirmFlow {
        func confirm<C: Clock<Duration>>(_ request: ConfirmRequest, on service: BookingService<C>) async -> APIResponse {
            .error(StatusCode.conflict, "full")
        }
    }

    @Test func theStandardRegistryListsTheMatrixVariantsInOrder() {
        #expect(VariantRegistry.standard.variants.map(\.rawValue)
            == ["seed", "fenced", "atomic", "idempotent", "atomic+idempotent+crash-safe", "fenced+atomic+idempotent+crash-safe", "lock-free"])
        #expect(VariantRegistry.standard.entries.allSatisfy { !$0.summary.isEmpty })
    }

    @Test(arguments: ["seed", "fenced", "atomic+idempotent", "idempotent+atomic", "crash-safe", "fenced+atomic+idempotent+crash-safe", "lock-free"])
    func namesParseToTheVariantTheyName(_ name: String) throws {
        let variant = try #require(VariantRegistry.standard.variant(named: name))
        #expect(variant == (Variant(rawValue: name) ?? .lockFree))
        #expect(VariantRegistry.standard.variant(named: variant.rawValue) == variant)
    }

    @Test func aPackageAddsItsOwnVariantByName() throws {
        let full = Variant(name: "always-full", flow: AlwaysFull())
        let registry = try VariantRegistry.standard.adding([VariantRegistry.Entry(full, summary: "refuses everything")])
        #expect(registry.variant(named: "always-full") == full)
        #expect(registry.variants.last == full)
        #expect(registry.syntax.hasPrefix("seed, lock-free, always-full, or fixes joined by '+'"))
        #expect(VariantRegistry.standard.variant(named: "always-full") == nil)
    }

    @Test func aNameListedTwiceOrUnwritableIsRefused() {
        #expect(throws: VariantRegistryError.duplicateName("seed")) {
            try VariantRegistry.standard.adding([VariantRegistry.Entry(Variant(name: "seed", flow: AlwaysFull()), summary: "")])
        }
        #expect(throws: VariantRegistryError.unusableName("a,b")) {
            try VariantRegistry([VariantRegistry.Entry(Variant(name: "a,b", flow: AlwaysFull()), summary: "")])
        }
    }
}
