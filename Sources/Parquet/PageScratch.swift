/// Scratch buffers and the compressor shared by all columns of a writer while encoding pages.
final class PageScratch {
    let body = ByteBuffer(capacity: 1 << 20)
    let compressed = ByteBuffer(capacity: 1 << 20)
    let header = ByteBuffer(capacity: 256)
    let compressor: PageCompressor

    init(compressor: PageCompressor) { self.compressor = compressor }

    /// The first compression failure; the writer reports it at the end of the row.
    var failure: ParquetError?

    /// Compresses `body`, appends header and compressed body to `out`; returns the uncompressed size incl. header.
    func appendPage(_ pageHeader: PageHeader, body: UnsafeRawBufferPointer, to out: ByteBuffer) -> Int {
        compressed.reset()
        let size: Int
        do {
            size = try compressor.compress(body, into: compressed)
        } catch {
            failure = failure ?? error
            size = 0
        }
        var h = pageHeader
        h.compressedPageSize = Int32(size)
        h.crc = Int32(bitPattern: pageChecksum(compressed.bytes))
        header.reset()
        var w = ThriftWriter(header)
        w.write(pageHeader: h)
        out.append(header)
        out.append(compressed)
        return header.count + body.count
    }
}
