//! A `NetEnv` for tests: it records every frame the stack transmits (by
//! `eth0` in `sent`, by `br0` in `bridged`) and every socket it wakes, and can refuse to transmit (a full TX ring).
//! The unit tests use it as `crate::testenv`; the integration tests in
//! `tests/` include this same file by path, so both drive the stack alike.

use super::{IfId, Mbuf, NetEnv, SocketId};

pub struct TestEnv {
    pub now: u64,
    pub sent: Vec<Mbuf>,
    pub bridged: Vec<Mbuf>,
    pub woken: Vec<SocketId>,
    pub refuse: bool,
}

impl TestEnv {
    /// An environment whose clock reads `now_ms`.
    pub fn at(now_ms: u64) -> Self {
        TestEnv {
            now: now_ms,
            sent: Vec::new(),
            bridged: Vec::new(),
            woken: Vec::new(),
            refuse: false,
        }
    }
}

impl NetEnv for TestEnv {
    fn now_ms(&self) -> u64 {
        self.now
    }
    fn transmit(&mut self, iface: IfId, frame: Mbuf) -> Result<(), Mbuf> {
        if self.refuse {
            return Err(frame);
        }
        match iface {
            IfId::Eth0 => self.sent.push(frame),
            IfId::Br0 => self.bridged.push(frame),
        }
        Ok(())
    }
    fn wakeup(&mut self, sock: SocketId) {
        self.woken.push(sock);
    }
    fn clock(&self) -> u64 {
        self.now
    }
}
