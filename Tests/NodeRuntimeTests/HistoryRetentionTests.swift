import NodeRuntime
import Testing

/// `--history-age`'s spelling (Docs/API.md, "History and compaction").
@Suite struct HistoryRetentionTests {
    @Test func anAgeIsAWholePositiveNumberAndAUnit() {
        #expect(HistoryRetention.parseAge("30s") == .seconds(30))
        #expect(HistoryRetention.parseAge("10m") == .seconds(600))
        #expect(HistoryRetention.parseAge("1h") == .seconds(3_600))
        #expect(HistoryRetention.parseAge("2d") == .seconds(172_800))
        for bad in ["", "s", "0s", "-1m", "1.5h", "10", "10 m", "1w", "1H", "99999999999999999999s", "9999999d"] {
            #expect(HistoryRetention.parseAge(bad) == nil, "\(bad)")
        }
    }
}
