//! TCP options as the protocol uses them: what a received segment
//! carries (walked with the generated `TcpOptions`, every option checked
//! by its own format's `parse`), and the options we send, each written by
//! its generated builder.
//!
//! We send on a SYN: MSS, SACK-permitted, timestamps, NOP and window
//! scale (Linux's order, 20 bytes, a multiple of four as the data offset
//! needs); on other segments the timestamps after two NOPs when both
//! ends use them, and SACK blocks (RFC 2018) while data waits out of
//! order.

use wire::tcp::{
    TcpMssRepr, TcpOption, TcpOptionKind, TcpOptions, TcpSackBlock, TcpSackBlockRepr,
    TcpSackPermittedRepr, TcpSackRepr, TcpTimestampsRepr, TcpWindowScaleRepr,
};
use wire::{Emit, EmitError};

use super::seq::Seq;

/// The largest shift RFC 7323 2.3 allows; more is used as this.
pub const MAX_SHIFT: u8 = 14;
/// SACK blocks we send at most (with timestamps, three fit).
pub const MAX_SACK_BLOCKS: usize = 3;
/// SACK blocks a received option holds at most (four fit in the header).
pub const MAX_SACK_BLOCKS_IN: usize = 4;
/// The most option bytes a TCP header holds.
pub const MAX_OPTIONS: usize = wire::tcp::TcpHeader::MAX_LEN - wire::tcp::TcpHeader::LEN;

/// What a received segment's options say.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RxOptions {
    pub mss: Option<u16>,
    pub shift: Option<u8>,
    pub sack_permitted: bool,
    /// TSval and TSecr.
    pub ts: Option<(u32, u32)>,
    /// SACK blocks (RFC 2018), `sack[..sack_n]`.
    pub sack: [(Seq, Seq); MAX_SACK_BLOCKS_IN],
    pub sack_n: usize,
}

impl RxOptions {
    /// Reads the options (already checked by the caller's `check`);
    /// unknown kinds are skipped.
    pub(crate) fn read(options: TcpOptions<'_>) -> RxOptions {
        let mut o = RxOptions::default();
        for opt in options.flatten() {
            match opt {
                TcpOption::Mss(p) => o.mss = Some(p.header.mss()),
                TcpOption::WindowScale(p) => o.shift = Some(p.header.shift().min(MAX_SHIFT)),
                TcpOption::SackPermitted(_) => o.sack_permitted = true,
                TcpOption::Timestamps(p) => o.ts = Some((p.header.value(), p.header.echo_reply())),
                TcpOption::Sack(p) => {
                    for b in wire::tcp::TcpSack::elements(&p) {
                        if let Some(slot) = o.sack.get_mut(o.sack_n) {
                            *slot = (Seq(b.left_edge()), Seq(b.right_edge()));
                            o.sack_n += 1;
                        }
                    }
                }
                _ => {}
            }
        }
        o
    }
}

/// The options of a segment we send, built in a small buffer.
pub(crate) struct TxOptions {
    buf: [u8; MAX_OPTIONS],
    len: usize,
}

impl TxOptions {
    pub(crate) fn new() -> TxOptions {
        TxOptions {
            buf: [0; MAX_OPTIONS],
            len: 0,
        }
    }

    /// What the timestamps take on every segment: the option and its
    /// padding, as [`TxOptions::timestamps`] writes them.
    pub(crate) fn timestamps_len() -> usize {
        let mut o = TxOptions::new();
        o.timestamps((0, 0));
        o.len
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Writes one option with its builder into the next `n` bytes.
    fn put<E: Emit<Context = ()>>(&mut self, e: &E, n: usize) -> Result<(), EmitError> {
        let end = self.len + n;
        let Some(room) = self.buf.get_mut(self.len..end) else {
            return Err(EmitError::Truncated {
                need: end,
                have: MAX_OPTIONS,
            });
        };
        e.emit(room, ())?;
        self.len = end;
        Ok(())
    }

    /// NOPs up to a whole number of 32-bit words.
    pub(crate) fn pad(&mut self) {
        while !self.len.is_multiple_of(4) && self.len < MAX_OPTIONS {
            self.nop();
        }
    }

    fn nop(&mut self) {
        if self.len < MAX_OPTIONS {
            self.buf[self.len] = TcpOptionKind::NOP.0;
            self.len += 1;
        }
    }

    /// A SYN's options: our MSS and, as offered (or, on a SYN-ACK, as
    /// the peer offered), SACK-permitted, timestamps and window scale.
    pub(crate) fn syn(mss: u16, sack: bool, ts: Option<(u32, u32)>, shift: Option<u8>) -> Self {
        let mut o = TxOptions::new();
        let _ = o.put(
            &TcpMssRepr {
                kind: TcpOptionKind::MSS,
                mss,
            },
            wire::tcp::TcpMss::LEN,
        );
        if sack {
            let _ = o.put(
                &TcpSackPermittedRepr {
                    kind: TcpOptionKind::SACK_PERMITTED,
                },
                wire::tcp::TcpSackPermitted::LEN,
            );
        }
        match ts {
            Some(ts) => o.timestamps(ts),
            None if sack => {
                o.nop();
                o.nop();
            }
            None => {}
        }
        if let Some(shift) = shift {
            o.nop();
            let _ = o.put(
                &TcpWindowScaleRepr {
                    kind: TcpOptionKind::WINDOW_SCALE,
                    shift,
                },
                wire::tcp::TcpWindowScale::LEN,
            );
        }
        o.pad();
        o
    }

    /// The timestamps option (10 bytes), padded to 12 with two NOPs in
    /// front when nothing precedes it.
    pub(crate) fn timestamps(&mut self, (value, echo_reply): (u32, u32)) {
        if self.len.is_multiple_of(4) {
            self.nop();
            self.nop();
        }
        let _ = self.put(
            &TcpTimestampsRepr {
                kind: TcpOptionKind::TIMESTAMPS,
                value,
                echo_reply,
            },
            wire::tcp::TcpTimestamps::LEN,
        );
    }

    /// A SACK option with `blocks` (as many as fit), after two NOPs.
    pub(crate) fn sack(&mut self, blocks: &[(Seq, Seq)]) {
        let room = (MAX_OPTIONS - self.len).saturating_sub(2 + wire::tcp::TcpSack::LEN);
        let n = blocks.len().min(room / TcpSackBlock::LEN);
        if n == 0 {
            return;
        }
        self.nop();
        self.nop();
        let start = self.len;
        let len = wire::tcp::TcpSack::LEN + n * TcpSackBlock::LEN;
        let header = TcpSackRepr {
            kind: TcpOptionKind::SACK,
        };
        if header.emit(&mut self.buf[start..start + len], ()).is_err() {
            self.len = start - 2;
            return;
        }
        self.len = start + wire::tcp::TcpSack::LEN;
        for &(left, right) in &blocks[..n] {
            let _ = self.put(
                &TcpSackBlockRepr {
                    left_edge: left.0,
                    right_edge: right.0,
                },
                TcpSackBlock::LEN,
            );
        }
    }
}
