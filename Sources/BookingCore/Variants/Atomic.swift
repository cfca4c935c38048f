/// The inventory decrements with a conditional `UPDATE`; the booking flow is the seed's.
struct AtomicFix: FixPiece {
    let summary = """
        The inventory decrement is UPDATE ... WHERE available_quantity >= 1, the source of truth: \
        no read-modify-write, so no lost update and no oversold night whatever the lock does (the \
        lock only spares the database contention). Prevents every double booking, including \
        overlapping stays with different check-ins. Costs nothing measurable.
        """

    var inventoryDecrement: InventoryService.Decrement? { .conditionalUpdate }
}
