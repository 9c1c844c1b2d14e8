//! sleep: waits N timer ticks (abi::syscall::TICK_HZ per second), as xv6.
#![no_std]
#![no_main]

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let Some(ticks) = args.get(1).and_then(|a| a.parse::<usize>().ok()) else {
        ulib::eprintln!("usage: sleep ticks");
        return 1;
    };
    match ulib::sys::sleep(ticks) {
        Ok(()) => 0,
        Err(e) => ulib::fail("sleep", "sleep", e),
    }
}
