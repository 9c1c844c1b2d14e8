//! usertests: the in-guest kernel test program, in the spirit of xv6's.
//! Processes (fork/exec/wait/kill), pipes, the file system (many files and
//! directories, big files through the singly- and doubly-indirect blocks,
//! concurrent use), memory (sbrk grow/shrink, running out), every
//! system call given bad pointers, lengths and fds, and containers (pid
//! numbering, isolation, cleanup; each its own network stack on the
//! bridge). Prints `test NAME: OK`
//! per test and ends with `ALL TESTS PASSED` or `SOME TESTS FAILED: names`.
//!
//! `usertests [-q] [-v] [name...]`: -q skips the slow tests, -v prints
//! ticks per test, names pick tests.
#![no_std]
#![no_main]

extern crate alloc;

#[path = "../usertests/badargs.rs"]
mod badargs;
#[path = "../usertests/container.rs"]
mod container;
#[path = "../usertests/fs.rs"]
mod fs;
#[path = "../usertests/mem.rs"]
mod mem;
#[path = "../usertests/netns.rs"]
mod netns;
#[path = "../usertests/proc.rs"]
mod proc;
#[path = "../usertests/util.rs"]
mod util;

use ulib::testing::{run_tests, Test};

ulib::entry!(main);

const TESTS: &[Test] = ulib::tests! {
    proc::forkwait;
    proc::exitstatus;
    proc::getpid;
    proc::exec;
    proc::execerrors;
    proc::bigargs;
    proc::pipe;
    proc::pipeclose;
    proc::kill;
    proc::killgroup;
    proc::pgroups;
    proc::killinit;
    proc::sleep;
    proc::forkfull, slow;
    fs::files;
    fs::unlinkopen;
    fs::links;
    fs::dirs;
    fs::manyfiles;
    fs::dup;
    fs::fdtable;
    fs::sharedfd;
    fs::concurrent;
    fs::createdelete;
    fs::concreate;
    fs::bigfile, slow;
    fs::hugefile, slow;
    mem::sbrkbasic;
    mem::sbrkshrink;
    mem::sbrkbad;
    mem::oom, slow;
    badargs::badfd;
    badargs::badptr_read;
    badargs::badptr_write;
    badargs::badptr_path;
    badargs::badptr_exec;
    badargs::badptr_misc;
    badargs::badlen;
    container::nspids;
    container::nskill;
    container::nsescape;
    container::nsbinro;
    container::nsbadargs;
    container::nsfree;
    netns::nsudp;
    netns::nstcp;
    netns::nsnetstat;
    netns::nsbindroot;
    netns::nsnetfree;
    mem::freepages, inline;
};

/// The longest any one test may take: generous, only a hang reaches it.
const LIMIT_S: u64 = 300;

fn main(args: &[&str]) -> i32 {
    util::record_free_pages();
    ulib::println!("usertests starting");
    run_tests(
        args,
        TESTS,
        LIMIT_S,
        "ALL TESTS PASSED",
        "SOME TESTS FAILED",
    )
}
