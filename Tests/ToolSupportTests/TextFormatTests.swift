import Testing
import ToolSupport

@Suite("text formatting")
struct TextFormatTests {
    @Test("fixed-point rounding, halves away from zero", arguments: [
        (2.345, 1, "2.3"), (2.35, 0, "2"), (0.05, 1, "0.1"), (-1.25, 1, "-1.3"), (-0.04, 1, "0.0"), (1234.5678, 2, "1234.57"),
        (99.96, 1, "100.0"), (0, 0, "0"), (7, 3, "7.000"),
    ])
    func fixed(value: Double, decimals: Int, expected: String) {
        #expect(TextFormat.fixed(value, decimals) == expected)
    }

    @Test("non-finite values stay readable")
    func nonFinite() {
        #expect(TextFormat.fixed(.infinity, 1) == "inf")
        #expect(TextFormat.fixed(.nan, 1) == "nan")
    }

    @Test("zero padding and column alignment")
    func padding() {
        #expect(TextFormat.zeroPadded(7, width: 2) == "07")
        #expect(TextFormat.zeroPadded(2024, width: 2) == "2024")
        #expect(TextFormat.zeroPadded(-5, width: 3) == "-005")
        #expect(TextFormat.left("ab", 4) == "ab  ")
        #expect(TextFormat.right("ab", 4) == "  ab")
        #expect(TextFormat.right("abcdef", 4) == "abcdef")
    }
}
