//! A small harness for in-guest test programs (usertests, nettests): each
//! test runs in a forked child, so a crash or a kill fails that test only,
//! and a test still running after the program's time limit is killed and
//! fails (a timer process tells the waiting harness), so none can hang.
//! The parent prints `test NAME: OK` or `test NAME: FAILED` per test and a
//! final verdict line; the host's test command greps for these lines.

use crate::sys;
use abi::Errno;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Debug;

pub type TestResult = Result<(), String>;

pub struct Test {
    pub name: &'static str,
    pub run: fn() -> TestResult,
    /// Skipped by `-q`.
    pub slow: bool,
    /// Runs in the test program's own process instead of a forked child
    /// (for checks that no other process may disturb, such as free pages).
    pub inline: bool,
}

/// Whether `flags` holds `flag` (for test tables built by macros).
pub const fn has_flag(flags: &[&str], flag: &str) -> bool {
    let mut i = 0;
    while i < flags.len() {
        let (a, b) = (flags[i].as_bytes(), flag.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// A test table: `module::name [, slow] [, inline];` per test.
#[macro_export]
macro_rules! tests {
    ($($module:ident::$name:ident $(, $flag:ident)*;)*) => {
        &[$($crate::testing::Test {
            name: stringify!($name),
            run: $module::$name,
            slow: $crate::testing::has_flag(&[$(stringify!($flag)),*], "slow"),
            inline: $crate::testing::has_flag(&[$(stringify!($flag)),*], "inline"),
        },)*]
    };
}

/// Returns early with a formatted failure unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(alloc::format!($($fmt)*));
        }
    };
}

/// Turning syscall results into test results.
pub trait Check<T> {
    /// The value, or a failure naming `what` and the error.
    fn or_fail(self, what: &str) -> Result<T, String>;
    /// Success if this is an error; a failure naming `what` if it is not.
    fn must_fail(self, what: &str) -> TestResult;
}

impl<T: Debug> Check<T> for Result<T, Errno> {
    fn or_fail(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{}: {}", what, e.message()))
    }
    fn must_fail(self, what: &str) -> TestResult {
        match self {
            Err(_) => Ok(()),
            Ok(v) => Err(format!("{} succeeded ({:?}) but must fail", what, v)),
        }
    }
}

/// A process that exits after `ticks`: `wait` returning it means time is up.
fn start_timer(ticks: u64) -> Option<usize> {
    match sys::fork() {
        Ok(0) => {
            let _ = sys::sleep(ticks as usize);
            sys::exit(0)
        }
        Ok(pid) => Some(pid),
        Err(_) => None,
    }
}

/// Ends and reaps a timer that is no longer needed.
fn stop_timer(timer: Option<usize>) {
    if let Some(timer) = timer {
        let _ = sys::kill(timer);
        while sys::wait().is_ok_and(|(w, _)| w != timer) {}
    }
}

/// Runs one test in a child, killed after `limit_s` seconds; true if it
/// passed.
fn run_one(t: &Test, verbose: bool, limit_s: u64) -> bool {
    let start = sys::uptime();
    if t.inline {
        return match (t.run)() {
            Ok(()) => true,
            Err(msg) => {
                crate::println!("  {}: {}", t.name, msg);
                false
            }
        };
    }
    // The timer first, so a test counting free pages sees it throughout.
    let mut timer = start_timer(limit_s * abi::syscall::TICK_HZ);
    if timer.is_none() {
        crate::println!("  {}: no process for its timer: no time limit", t.name);
    }
    let pid = match sys::fork() {
        Ok(0) => match (t.run)() {
            Ok(()) => sys::exit(0),
            Err(msg) => {
                crate::println!("  {}: {}", t.name, msg);
                sys::exit(1)
            }
        },
        Ok(pid) => pid,
        Err(e) => {
            crate::println!("  {}: fork: {}", t.name, e.message());
            stop_timer(timer);
            return false;
        }
    };
    let mut passed = false;
    loop {
        match sys::wait() {
            Ok((w, status)) if w == pid => {
                passed = status == 0;
                if status != 0 {
                    crate::println!("  {}: exit status {}", t.name, status);
                }
                break;
            }
            Ok((w, _)) if Some(w) == timer => {
                crate::println!("  {}: still running after {} s: killed", t.name, limit_s);
                timer = None;
                let _ = sys::kill(pid);
            }
            Ok(_) => {} // a stray grandchild
            Err(e) => {
                crate::println!("  {}: wait: {}", t.name, e.message());
                break;
            }
        }
    }
    stop_timer(timer);
    if verbose {
        crate::println!("  ({} ticks)", sys::uptime() - start);
    }
    passed
}

/// Runs `tests` as selected by `args` (`-q`: skip slow ones, `-v`: timing,
/// names: only those), each for at most `limit_s` seconds, prints each
/// result and the verdict (`{all_ok}` or `{some_failed}: names`). Returns
/// the exit status.
pub fn run_tests(
    args: &[&str],
    tests: &[Test],
    limit_s: u64,
    all_ok: &str,
    some_failed: &str,
) -> i32 {
    let quick = args.contains(&"-q");
    let verbose = args.contains(&"-v");
    let names: Vec<&str> = args
        .iter()
        .skip(1)
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    let start = sys::uptime();
    let mut failed: Vec<&str> = Vec::new();
    for t in tests {
        if !names.is_empty() && !names.contains(&t.name) {
            continue;
        }
        if names.is_empty() && quick && t.slow {
            continue;
        }
        if run_one(t, verbose, limit_s) {
            crate::println!("test {}: OK", t.name);
        } else {
            crate::println!("test {}: FAILED", t.name);
            failed.push(t.name);
        }
    }
    let secs = (sys::uptime() - start) / abi::syscall::TICK_HZ;
    crate::println!("({} s)", secs);
    if failed.is_empty() {
        crate::println!("{}", all_ok);
        0
    } else {
        let mut line = String::from(some_failed);
        line.push(':');
        for f in failed {
            line.push(' ');
            line.push_str(f);
        }
        crate::println!("{}", line);
        1
    }
}
