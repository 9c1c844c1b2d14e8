//! The send path's profile: where a datagram's time goes inside the
//! kernel between `sendto` being entered and the frame being on the NIC's
//! transmit ring, read with the `time` CSR. `netstat` exports each stage's
//! sums as counters (`txprof_<stage>_n`, `_us`, `_max_us`, as
//! `rxprof`'s); `netstat -t` prints them under the receive path's. The
//! time between two `sendto`s that no stage covers is the trap in and
//! out and the program itself.

use abi::net::Counter;

use crate::rxprof::{export_stages, Stage};

/// A stage of the send path.
#[derive(Clone, Copy)]
pub enum TxStage {
    /// `sendto` entered -> the payload copied into mbufs.
    Copyin = 0,
    /// -> room on the NIC's ring checked, the stack (UDP, IPv4, ARP,
    /// Ethernet) and the driver done.
    Stack = 1,
    /// Within the stack: the driver's part (its lock, reclaiming sent
    /// frames, posting, notifying the device).
    Driver = 2,
}

const STAGES: [[&str; 3]; 3] = [
    [
        "txprof_copyin_n",
        "txprof_copyin_us",
        "txprof_copyin_max_us",
    ],
    ["txprof_stack_n", "txprof_stack_us", "txprof_stack_max_us"],
    [
        "txprof_driver_n",
        "txprof_driver_us",
        "txprof_driver_max_us",
    ],
];

/// How many counters [`export`] writes.
pub const COUNTERS: usize = STAGES.len() * 3;

static PROFILE: [Stage; STAGES.len()] = [const { Stage::new() }; STAGES.len()];

/// Adds one pass through `stage`, from `since` (a `time` CSR reading) to now.
pub fn record(stage: TxStage, since: u64) {
    let now = crate::riscv::r_time() as u64;
    PROFILE[stage as usize].add(now.saturating_sub(since));
}

/// Appends the profile to `netstat`'s counters; returns how many it wrote.
pub fn export(out: &mut [Counter]) -> usize {
    export_stages(&PROFILE, &STAGES, out)
}

// Every name fits in a counter's name field with its terminating zero.
const _: () = {
    let mut i = 0;
    while i < COUNTERS {
        assert!(STAGES[i / 3][i % 3].len() < abi::net::COUNTER_NAME_LEN);
        i += 1;
    }
};
