import Digest
@testable import ObjectStore
import Testing

/// The unrolled MD5 must agree with libcrypto's, however the bytes are cut.
@Suite("two-lane MD5")
struct MD5LaneTests {
    static let data: [UInt8] = (0..<(1 << 20) + 37).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }

    @Test("one lane equals libcrypto's MD5 for chunk sizes around the block size", arguments: [1, 63, 64, 65, 1000, 4096, 1 << 20])
    func oneLane(chunk: Int) {
        var lane = MD5Lane()
        Self.data.withUnsafeBytes { all in
            for start in stride(from: 0, to: all.count, by: chunk) {
                lane.update(UnsafeRawBufferPointer(rebasing: all[start..<min(start + chunk, all.count)]))
            }
        }
        #expect(hex(lane.finalize()) == hex(Digest.hash(.md5, Self.data)))
    }

    @Test("known vectors: empty, abc, a million a's")
    func vectors() {
        var empty = MD5Lane()
        #expect(hex(empty.finalize()) == "d41d8cd98f00b204e9800998ecf8427e")
        var abc = MD5Lane()
        Array("abc".utf8).withUnsafeBytes { abc.update($0) }
        #expect(hex(abc.finalize()) == "900150983cd24fb0d6963f7d28e17f72")
        var million = MD5Lane()
        [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000).withUnsafeBytes { million.update($0) }
        #expect(hex(million.finalize()) == "7707d6ae4e027c70eea2a935c2296f21")
    }

    @Test("two lanes fed together equal two separate digests, aligned or not", arguments: [(0, 0), (5, 5), (5, 17), (0, 63)])
    func twoLanes(leadX: Int, leadY: Int) {
        var x = MD5Lane()
        var y = MD5Lane()
        let prefixX = [UInt8](repeating: 1, count: leadX)
        let prefixY = [UInt8](repeating: 2, count: leadY)
        prefixX.withUnsafeBytes { x.update($0) }
        prefixY.withUnsafeBytes { y.update($0) }
        Self.data.withUnsafeBytes { all in
            for start in stride(from: 0, to: all.count, by: 100_003) {
                MD5Lane.update(&x, &y, with: UnsafeRawBufferPointer(rebasing: all[start..<min(start + 100_003, all.count)]))
            }
        }
        #expect(hex(x.finalize()) == hex(Digest.hash(.md5, prefixX + Self.data)))
        #expect(hex(y.finalize()) == hex(Digest.hash(.md5, prefixY + Self.data)))
    }
}
