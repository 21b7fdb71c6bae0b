/// Values for some of `count` positions (the planned slices): 4 bytes per position plus the
/// values present. A first run knows nothing of its 100,000 slices yet, and an array of
/// optionals would hold 100,000 empty values of full size (120 bytes each for `KnownSlice`).
struct SparseSlots<Value> {
    /// By position: the index of its value in `values`, or -1.
    private var slots: [Int32]
    private var values: [Value] = []

    init(count: Int) {
        slots = Array(repeating: -1, count: count)
    }

    subscript(position: Int) -> Value? {
        get {
            let slot = slots[position]
            return slot < 0 ? nil : values[Int(slot)]
        }
        set {
            let slot = slots[position]
            switch (newValue, slot >= 0) {
            case (let value?, true): values[Int(slot)] = value
            case (let value?, false):
                slots[position] = Int32(values.count)
                values.append(value)
            case (nil, _): slots[position] = -1  // its value stays unreachable (rare: never on a hot path)
            }
        }
    }
}
