//! Kernel formatted output (`print!`/`println!`) to the console, and the
//! panic handler.
//!
//! Printing takes a lock so lines from different harts do not interleave.
//! A panic prints "panic: ..." without the lock (the panicking hart might
//! hold it), freezes the other harts' output, and powers QEMU off with a
//! failure code so scripted runs end instead of hanging.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::spinlock::Spinlock;

/// Set once any hart panics; other harts stop printing and spin.
pub static PANICKED: AtomicBool = AtomicBool::new(false);
/// cpuid + 1 of the panicking hart.
static PANIC_HART: AtomicUsize = AtomicUsize::new(0);

static PR: Spinlock<()> = Spinlock::new("pr", ());

/// Is this hart the one that panicked (it may still print)?
pub fn panicking_here() -> bool {
    PANIC_HART.load(Ordering::Relaxed) == crate::proc::cpuid() + 1
}

struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            crate::console::consputc(b);
        }
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    if PANICKED.load(Ordering::Relaxed) && panicking_here() {
        let _ = Console.write_fmt(args);
        return;
    }
    let _g = PR.lock();
    let _ = Console.write_fmt(args);
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::printf::_print(format_args!($($arg)*)) };
}

#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::printf::_print(format_args!("{}\n", format_args!($($arg)*))) };
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::riscv::intr_off();
    PANIC_HART.store(crate::proc::cpuid() + 1, Ordering::Relaxed);
    PANICKED.store(true, Ordering::SeqCst);
    let _ = writeln!(Console, "panic: {}", info.message());
    let _ = writeln!(Console, "  on hart {}", crate::proc::cpuid());
    if let Some(loc) = info.location() {
        let _ = writeln!(Console, "  at {}:{}", loc.file(), loc.line());
    }
    // Exit code 1 tells a scripted run that the kernel died.
    crate::sysproc::poweroff(1);
}
