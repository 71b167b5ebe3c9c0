import Testing

/// The in-process cluster tests, one nested suite per file. They run one at a time: each
/// starts three or four nodes with 10 ms ticks, and several such clusters at once on a
/// loaded 2-core machine would trade leaders for reasons no test is about.
@Suite(.serialized) struct RuntimeClusterTests {}
