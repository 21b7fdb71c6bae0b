/// A Parquet failure: one line saying what went wrong and where (file, column, row group, byte offset).
public struct ParquetError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The message.
    public var message: String

    /// An error with a message.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
