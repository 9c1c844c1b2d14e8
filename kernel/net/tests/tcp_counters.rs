//! Every TCP counter (and loopback's) is made to move by some test: each
//! name appears quoted in a test that asserts it, or, for the drop
//! reasons the spec declares, in `malformed.rs`'s cases.

use net::{DropReason, Stat};

const TESTS: [&str; 8] = [
    include_str!("tcp_open.rs"),
    include_str!("tcp_close.rs"),
    include_str!("tcp_rst.rs"),
    include_str!("tcp_retransmit.rs"),
    include_str!("tcp_wire.rs"),
    include_str!("fuzz.rs"),
    include_str!("malformed.rs"),
    include_str!("../src/loopback.rs"),
];

#[test]
fn every_tcp_counter_has_a_test_that_moves_it() {
    let names = Stat::ALL
        .iter()
        .map(|s| s.name())
        .chain(DropReason::ALL.iter().map(|r| r.name()))
        .filter(|n| n.starts_with("tcp_") || n.starts_with("drop_tcp_") || n.contains("loopback"));
    let mut missing = vec![];
    for name in names {
        let quoted = format!("\"{name}\"");
        // Drop reasons are also named by their variant (malformed.rs,
        // loopback.rs).
        let variant = DropReason::ALL
            .iter()
            .find(|r| r.name() == name)
            .map(|r| format!("{r:?},"))
            .unwrap_or_else(|| quoted.clone());
        let variant_call = variant.replace(',', ")");
        if !TESTS
            .iter()
            .any(|t| t.contains(&quoted) || t.contains(&variant) || t.contains(&variant_call))
        {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "no test moves {missing:?}");
}
