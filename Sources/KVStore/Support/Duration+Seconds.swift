extension Duration {
    /// The duration in seconds, as metrics and histograms record it.
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
