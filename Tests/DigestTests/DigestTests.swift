import Testing
@testable import Digest

@Suite("digests")
struct DigestTests {
    @Test("MD5, SHA-1 and SHA-256 match the published test vectors for \"abc\"")
    func vectors() {
        #expect(hex(Digest.hash(.md5, "abc")) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(hex(Digest.hash(.sha1, "abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(Digest.hash(.sha256, "abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("an incremental hash equals the one-shot hash and resets after finalize")
    func incremental() {
        let d = Digest(.md5)
        d.update("a"); d.update("bc")
        #expect(hex(d.finalize()) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(hex(d.finalize()) == "d41d8cd98f00b204e9800998ecf8427e")
    }

    @Test("HMAC-SHA256 matches RFC 4231 test case 2")
    func hmac() {
        let mac = hmacSHA256(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
        #expect(hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("base64 pads like RFC 4648")
    func base64Padding() {
        #expect(base64(Array("f".utf8)) == "Zg==")
        #expect(base64(Array("fo".utf8)) == "Zm8=")
        #expect(base64(Array("foo".utf8)) == "Zm9v")
        #expect(base64([]) == "")
    }
}
