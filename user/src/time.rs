//! A clock finer than the 10 ms tick: the RISC-V `time` counter, which the
//! kernel lets user programs read directly (scounteren.TM), as a Linux vDSO
//! lets `clock_gettime` skip the system call.

/// Ticks of the `time` counter per microsecond (10 MHz on QEMU virt).
const COUNTS_PER_US: u64 = 10;

/// Microseconds since boot.
pub fn now_us() -> u64 {
    let t: u64;
    // SAFETY: rdtime only reads a counter the kernel made readable.
    unsafe { core::arch::asm!("rdtime {}", out(reg) t) };
    t / COUNTS_PER_US
}

/// `us` as milliseconds with three decimals, as ping(8) prints times.
pub struct Millis(pub u64);

impl core::fmt::Display for Millis {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}
