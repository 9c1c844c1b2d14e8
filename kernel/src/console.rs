//! Console input and output, to the UART.
//!
//! Reads are a line at a time. Implements special input characters:
//!   newline -- end of line
//!   control-h / DEL -- backspace
//!   control-u -- kill line
//!   control-d -- end of file
//!   control-c -- interrupt: kill the foreground job, flush unread input
//!   control-p -- print process list
//! The file layer (file.rs) routes reads and writes of the CONSOLE
//! device (major 1) to `consoleread` / `consolewrite`.
//!
//! Input is never dropped: when the ring is full the UART driver stops
//! taking bytes (see `uart::uartintr`), which holds the sender back until
//! a reader makes room. A line longer than the ring (`INPUT_BUF_SIZE`,
//! 4 KiB) reaches readers in ring-sized pieces, the last one ending with
//! its newline; no byte of it is lost. The price: while the ring is full
//! and nobody reads, a ^C typed after the paste waits behind it.
//!
//! ^C: the shell makes each foreground job a process group and names it
//! with `tcsetpgrp`; ^C kills every process of that group (as `kill`
//! does), discards input not yet read, and ends any console read waiting
//! for input with EINTR, so a shell at its prompt starts a fresh line.
//!
//! Containers: the console belongs to one namespace at a time (`ns.rs`),
//! the root one unless `attach` gave it to a container. Only processes of
//! that namespace read it (others wait, as a background job would); each
//! namespace has its own foreground group, and ^C and ^P act on the
//! namespace holding the console. ^] (`abi::syscall::DETACH_KEY`) gives it
//! back to the root namespace, as does the container's end. Writes are
//! not gated: every namespace may print.
//!
//! A `write` reaches the UART whole, never mixed with another process's
//! (as a tty's writes are on Unix): a background server's line cannot
//! land in the middle of the shell's prompt.

use abi::Errno;

use crate::ns::{self, ROOT_NS};
use crate::proc::{
    either_copyin, either_copyout, kill_group_in, killed, my_ns, procdump, sleep, wakeup,
};
use crate::sleeplock::Sleeplock;
use crate::spinlock::Spinlock;
use crate::uart;

/// Held for the whole of a `write`: a sleep lock, since `uartputc` sleeps
/// while the UART's output buffer is full.
static WRITING: Sleeplock<()> = Sleeplock::new("console write", ());

const BACKSPACE: u16 = 0x100;

const fn ctrl(x: u8) -> u8 {
    x - b'@'
}

/// Send one character to the UART, synchronously. Used by kernel printing
/// and to echo input, so it must not sleep.
pub fn consputc(c: u8) {
    uart::uartputc_sync(c);
}

fn consputc_bs(c: u16) {
    if c == BACKSPACE {
        // If the user typed backspace, overwrite with a space.
        uart::uartputc_sync(b'\x08');
        uart::uartputc_sync(b' ');
        uart::uartputc_sync(b'\x08');
    } else {
        uart::uartputc_sync(c as u8);
    }
}

/// The input ring: big enough for any line typed or pasted in one go.
const INPUT_BUF_SIZE: usize = 4096;

struct Cons {
    buf: [u8; INPUT_BUF_SIZE],
    r: usize, // read index
    w: usize, // write index (end of the last complete line)
    e: usize, // edit index
    /// The namespace whose processes read the console (and whose
    /// foreground group ^C kills).
    attached: usize,
    /// ^C presses so far: a reader waiting for input that sees it change
    /// was interrupted.
    interrupts: u64,
}

static CONS: Spinlock<Cons> = Spinlock::new(
    "cons",
    Cons {
        buf: [0; INPUT_BUF_SIZE],
        r: 0,
        w: 0,
        e: 0,
        attached: ROOT_NS,
        interrupts: 0,
    },
);

fn read_chan() -> usize {
    &CONS as *const _ as usize
}

pub fn consoleinit() {
    uart::uartinit();
}

/// tcsetpgrp: the process group of the caller's namespace ^C kills from
/// now on (0: none).
pub fn set_foreground(pgid: i32) {
    ns::set_foreground(my_ns(), pgid);
}

/// attach: give the console to container `to` and wait until it comes
/// back (^], or the container's end). EINTR if the caller is killed; the
/// console then comes back too.
pub fn attach(to: usize) -> Result<usize, Errno> {
    let mut cons = CONS.lock();
    cons.attached = to;
    wakeup(read_chan());
    crate::syspoll::notify();
    // The container may have ended before the console reached it.
    while cons.attached == to && ns::alive(to) {
        if killed() {
            cons.attached = ROOT_NS;
            wakeup(read_chan());
            return Err(Errno::EINTR);
        }
        cons = sleep(read_chan(), cons);
    }
    cons.attached = ROOT_NS;
    wakeup(read_chan());
    crate::syspoll::notify();
    Ok(0)
}

/// Namespace `from` has no process left: if it holds the console, the
/// console goes back to the root namespace.
pub fn detach(from: usize) {
    let mut cons = CONS.lock();
    if cons.attached == from {
        cons.attached = ROOT_NS;
    }
    wakeup(read_chan());
    crate::syspoll::notify();
}

/// Can the ring take another input byte? The UART leaves bytes in its
/// FIFO while it cannot.
pub fn has_room() -> bool {
    let cons = CONS.lock();
    cons.e - cons.r < INPUT_BUF_SIZE
}

/// Would a read return without waiting? (A whole line, or ^D, is there,
/// and the console belongs to the caller's namespace.)
pub fn readable() -> bool {
    let ns = my_ns();
    let cons = CONS.lock();
    cons.r != cons.w && cons.attached == ns
}

/// User write()s to the console go here.
pub fn consolewrite(user_src: bool, src: usize, n: usize) -> Result<usize, Errno> {
    let mut chunk = [0u8; 64];
    let mut done = 0;
    let _whole = WRITING.lock();
    while done < n {
        let m = core::cmp::min(chunk.len(), n - done);
        if either_copyin(&mut chunk[..m], user_src, src + done).is_err() {
            break;
        }
        for &c in &chunk[..m] {
            uart::uartputc(c);
        }
        done += m;
    }
    if done == 0 && n > 0 {
        return Err(Errno::EFAULT);
    }
    Ok(done)
}

/// User read()s from the console go here: copy (up to) a whole input line
/// to dst. `user_dst` says whether dst is a user or kernel address.
pub fn consoleread(user_dst: bool, dst: usize, n: usize) -> Result<usize, Errno> {
    let r = read_line(user_dst, dst, n);
    // Reading made room: let the UART deliver what it held back.
    uart::rx_resume();
    r
}

fn read_line(user_dst: bool, mut dst: usize, n: usize) -> Result<usize, Errno> {
    let target = n;
    let mut n = n;
    let ns = my_ns();
    let mut cons = CONS.lock();
    let interrupts = cons.interrupts;
    while n > 0 {
        // Wait until the interrupt handler has put some input into
        // cons.buf, for this namespace.
        while cons.r == cons.w || cons.attached != ns {
            if killed() {
                return Err(Errno::EINTR);
            }
            if cons.interrupts != interrupts {
                // ^C: what was read so far, else EINTR.
                return if n == target {
                    Err(Errno::EINTR)
                } else {
                    Ok(target - n)
                };
            }
            cons = sleep(read_chan(), cons);
        }
        let c = cons.buf[cons.r % INPUT_BUF_SIZE];
        cons.r += 1;

        if c == ctrl(b'D') {
            // end-of-file
            if n < target {
                // Save ^D for next time, to make sure caller gets a 0-byte result.
                cons.r -= 1;
            }
            break;
        }

        // Copy the input byte to the user-space buffer.
        if either_copyout(user_dst, dst, &[c]).is_err() {
            if n == target {
                return Err(Errno::EFAULT);
            }
            break;
        }
        dst += 1;
        n -= 1;
        if c == b'\n' {
            // A whole line has arrived; return to the user-level read().
            break;
        }
    }
    Ok(target - n)
}

/// The console input interrupt handler: uartintr() calls this for each
/// input character (only when `has_room`). Do erase/kill processing,
/// append to cons.buf, and wake up consoleread() if a whole line has
/// arrived.
pub fn consoleintr(c: u8) {
    let mut cons = CONS.lock();
    match c {
        c if c == ctrl(b'P') => {
            let viewer = cons.attached;
            drop(cons);
            procdump(viewer);
        }
        abi::syscall::DETACH_KEY if cons.attached != ROOT_NS => {
            // Input typed for the container stays with it: drop the rest.
            cons.w = cons.r;
            cons.e = cons.r;
            cons.attached = ROOT_NS;
            for &b in b"^]\n" {
                consputc(b);
            }
            wakeup(read_chan());
            crate::syspoll::notify();
        }
        c if c == ctrl(b'C') => {
            // Input typed before the interrupt is not for whoever reads next.
            cons.w = cons.r;
            cons.e = cons.r;
            for &b in b"^C\n" {
                consputc(b);
            }
            cons.interrupts += 1;
            wakeup(read_chan());
            crate::syspoll::notify();
            let fg = ns::foreground(cons.attached);
            if fg != 0 {
                // The job may have ended already: nobody left to kill.
                let _ = kill_group_in(cons.attached, fg);
            }
        }
        c if c == ctrl(b'U') => {
            while cons.e != cons.w && cons.buf[(cons.e - 1) % INPUT_BUF_SIZE] != b'\n' {
                cons.e -= 1;
                consputc_bs(BACKSPACE);
            }
        }
        0x08 | 0x7f => {
            if cons.e != cons.w {
                cons.e -= 1;
                consputc_bs(BACKSPACE);
            }
        }
        _ => {
            if c != 0 && cons.e - cons.r < INPUT_BUF_SIZE {
                let c = if c == b'\r' { b'\n' } else { c };
                // Echo back to the user.
                consputc(c);
                // Store for consumption by consoleread().
                let e = cons.e;
                cons.buf[e % INPUT_BUF_SIZE] = c;
                cons.e += 1;
                if c == b'\n' || c == ctrl(b'D') || cons.e - cons.r == INPUT_BUF_SIZE {
                    // Wake up consoleread() if a whole line (or end-of-file) has arrived.
                    cons.w = cons.e;
                    wakeup(read_chan());
                    crate::syspoll::notify();
                }
            }
        }
    }
}
