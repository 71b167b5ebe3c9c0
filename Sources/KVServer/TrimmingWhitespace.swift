extension StringProtocol {
    /// Without leading and trailing white space, newlines included (Unicode's definition,
    /// `Character.isWhitespace`): header values, and one-line files such as `cluster-id`.
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }),
              let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}
