//! Low-level driver for the 16550a UART at UART0 (IRQ 10).
//!
//! Output from processes goes through a transmit ring: `uartputc` queues a
//! byte (sleeping while the ring is full) and sends what the UART takes at
//! once; only when the UART is busy is the transmit-ready interrupt turned
//! on, to drain the rest, and it goes off again when the ring is empty (as
//! Linux's 8250 driver does). QEMU's UART takes each byte at once and
//! would raise that interrupt after every one: a trap on some hart for
//! each byte printed, which made the boot's console lines take tens of
//! milliseconds. The kernel's own printing and console echo use
//! `uartputc_sync`, which spins, so a panic can still print. Input bytes
//! arrive by interrupt and go straight to the console's line editor; each
//! interrupt drains the receive FIFO. When the console's ring is full the
//! rest stays in the FIFO and receive interrupts are off (`RX_HELD`): the
//! full FIFO holds the sender back (QEMU stops reading its terminal), so
//! a long paste waits instead of losing bytes. `rx_resume`, called after
//! each console read, turns them back on.

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::Ordering;

use crate::memlayout::UART0;
use crate::printf::PANICKED;
use crate::proc::{sleep, wakeup};
use crate::spinlock::{IntrOff, Spinlock};

// UART control registers (offsets from UART0); see
// http://byterunner.com/16550.html
const RHR: usize = 0; // receive holding register (for input bytes)
const THR: usize = 0; // transmit holding register (for output bytes)
const IER: usize = 1; // interrupt enable register
const IER_RX_ENABLE: u8 = 1 << 0;
const IER_TX_ENABLE: u8 = 1 << 1;
const FCR: usize = 2; // FIFO control register
const FCR_FIFO_ENABLE: u8 = 1 << 0;
const FCR_FIFO_CLEAR: u8 = 3 << 1; // clear the content of the two FIFOs
const LCR: usize = 3; // line control register
const LCR_EIGHT_BITS: u8 = 3;
const LCR_BAUD_LATCH: u8 = 1 << 7; // special mode to set baud rate
const LSR: usize = 5; // line status register
const LSR_RX_READY: u8 = 1 << 0; // input is waiting to be read from RHR
const LSR_TX_IDLE: u8 = 1 << 5; // THR can accept another character to send

fn read_reg(reg: usize) -> u8 {
    // SAFETY: UART0 is a device register block mapped (direct) in the kernel page table.
    unsafe { read_volatile((UART0 + reg) as *const u8) }
}

fn write_reg(reg: usize, v: u8) {
    // SAFETY: as in read_reg.
    unsafe { write_volatile((UART0 + reg) as *mut u8, v) }
}

const UART_TX_BUF_SIZE: usize = 32;

struct TxRing {
    buf: [u8; UART_TX_BUF_SIZE],
    w: usize, // write next to buf[w % SIZE]
    r: usize, // read next from buf[r % SIZE]
}

static UART_TX: Spinlock<TxRing> = Spinlock::new(
    "uart",
    TxRing {
        buf: [0; UART_TX_BUF_SIZE],
        w: 0,
        r: 0,
    },
);

/// Receive interrupts are off because the console had no room.
static RX_HELD: Spinlock<bool> = Spinlock::new("uart_rx", false);

/// The interrupts enabled in IER: receive unless held, transmit-ready
/// while output waits for the UART. Its lock orders every IER write (it
/// is taken last, under UART_TX or RX_HELD).
static IER_BITS: Spinlock<u8> = Spinlock::new("uart_ier", 0);

/// Turns the interrupts `on` on and `off` off.
fn set_ier(on: u8, off: u8) {
    let mut ier = IER_BITS.lock();
    let new = (*ier | on) & !off;
    if new != *ier {
        *ier = new;
        write_reg(IER, new);
    }
}

pub fn uartinit() {
    write_reg(IER, 0x00); // disable interrupts.
    write_reg(LCR, LCR_BAUD_LATCH); // special mode to set baud rate.
    write_reg(0, 0x03); // LSB for baud rate of 38.4K.
    write_reg(1, 0x00); // MSB for baud rate of 38.4K.
    write_reg(LCR, LCR_EIGHT_BITS); // leave set-baud mode; 8 bits, no parity.
    write_reg(FCR, FCR_FIFO_ENABLE | FCR_FIFO_CLEAR); // reset and enable FIFOs.
                                                      // Receive interrupts; transmit-ready ones only while output waits.
    set_ier(IER_RX_ENABLE, 0);
}

/// Add a byte to the output ring and start sending if the UART is idle.
/// Blocks (sleeps) while the ring is full, so it is only for process
/// context (write() to the console), never for interrupts.
pub fn uartputc(c: u8) {
    let mut tx = UART_TX.lock();
    if PANICKED.load(Ordering::Relaxed) {
        drop(tx);
        loop {
            core::hint::spin_loop();
        }
    }
    while tx.w == tx.r + UART_TX_BUF_SIZE {
        // Ring full: wait for uartstart() to open up space.
        let chan = &tx.r as *const usize as usize;
        tx = sleep(chan, tx);
    }
    let w = tx.w;
    tx.buf[w % UART_TX_BUF_SIZE] = c;
    tx.w += 1;
    uartstart(&mut tx);
}

/// Spin until the UART can take a byte, then send it. For kernel printf and
/// console echo, which must not sleep.
pub fn uartputc_sync(c: u8) {
    let _off = IntrOff::new();
    if PANICKED.load(Ordering::Relaxed) && !crate::printf::panicking_here() {
        loop {
            core::hint::spin_loop();
        }
    }
    while read_reg(LSR) & LSR_TX_IDLE == 0 {}
    write_reg(THR, c);
}

/// Send whatever is queued while the UART can take it. Caller holds UART_TX.
fn uartstart(tx: &mut TxRing) {
    loop {
        if tx.w == tx.r {
            // Ring empty: no transmit-ready interrupt wanted, and none
            // left pending (reading ISR acknowledges it).
            set_ier(0, IER_TX_ENABLE);
            read_reg(ISR);
            return;
        }
        if read_reg(LSR) & LSR_TX_IDLE == 0 {
            // The UART's holding register is full: let it interrupt when
            // it is ready (at once, if it already is by now).
            set_ier(IER_TX_ENABLE, 0);
            return;
        }
        let c = tx.buf[tx.r % UART_TX_BUF_SIZE];
        tx.r += 1;
        // Maybe uartputc() is waiting for space in the ring.
        wakeup(&tx.r as *const usize as usize);
        write_reg(THR, c);
    }
}

/// The console made room: take input again (an interrupt follows at
/// once if bytes wait in the FIFO). Call without holding the console lock.
pub fn rx_resume() {
    let mut held = RX_HELD.lock();
    if *held && crate::console::has_room() {
        *held = false;
        set_ier(IER_RX_ENABLE, 0);
    }
}

const ISR: usize = 2; // interrupt status register (reading acknowledges TX)

/// Read one input byte, if any.
fn uartgetc() -> Option<u8> {
    if read_reg(LSR) & LSR_RX_READY != 0 {
        Some(read_reg(RHR))
    } else {
        None
    }
}

/// Handle a UART interrupt: input arrived, or the UART is ready for more
/// output, or both. Called from devintr().
pub fn uartintr() {
    let mut held = RX_HELD.lock();
    loop {
        if !crate::console::has_room() {
            // Leave the rest in the FIFO until a reader makes room.
            set_ier(0, IER_RX_ENABLE);
            *held = true;
            break;
        }
        let Some(c) = uartgetc() else { break };
        crate::console::consoleintr(c);
    }
    drop(held);
    let mut tx = UART_TX.lock();
    uartstart(&mut tx);
}
