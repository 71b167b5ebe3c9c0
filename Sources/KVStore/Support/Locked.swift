/// A value shared between the write thread (which changes it after each commit) and the
/// threads that read it.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = ConditionLock()

    init(_ value: Value) { self.value = value }

    func withLock<Result, Failure: Error>(
        _ body: (inout Value) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    var current: Value { withLock { $0 } }
}
