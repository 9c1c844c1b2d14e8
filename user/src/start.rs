//! Program start and end: the `entry!` macro defines `_start` (the kernel
//! enters with a0 = argc, a1 = argv, sp = top of the user stack), turns argv
//! into `&[&str]` and exits with `main`'s return value. A panic prints its
//! message to fd 2 and exits with status 1.

use crate::cstr::from_cstr;
use crate::syscall::exit;
use alloc::vec::Vec;

/// Declares `main(args: &[&str]) -> i32` as the program's entry point.
///
/// ```ignore
/// #![no_std]
/// #![no_main]
/// ulib::entry!(main);
/// fn main(args: &[&str]) -> i32 { 0 }
/// ```
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        extern "C" fn _start(argc: usize, argv: *const *const u8) -> ! {
            // SAFETY: the kernel passes argc C strings in argv (TEAM.md).
            unsafe { $crate::start::run(argc, argv, $main) }
        }
    };
}

/// Builds the argument list and runs `main`.
///
/// # Safety
/// `argv` holds `argc` pointers to NUL-terminated strings that stay put for
/// the life of the process (the kernel puts them on the user stack).
pub unsafe fn run(argc: usize, argv: *const *const u8, main: fn(&[&str]) -> i32) -> ! {
    let mut args: Vec<&'static str> = Vec::with_capacity(argc);
    for i in 0..argc {
        // SAFETY: the caller's contract: argv[i] is a live C string.
        args.push(unsafe { from_cstr(*argv.add(i)) });
    }
    exit(main(&args))
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::eprintln!("panic: {}", info);
    exit(1)
}
