//! Stacks joined by a `Bridge`, as the kernel joins its namespaces'
//! stacks: three stacks on 10.0.3.0/24 all bound to one UDP port; one
//! sends to another by address (ARP's broadcast flooded, its reply and
//! the datagram delivered by MAC) and the third receives nothing; the
//! flooded request is shared, not copied; every buffer comes back.

use abi::net::{IfConfig, SockAddrIn};
use net::bridge::{Bridge, BridgeStat};
use net::{Buf, IfId, Mbuf, NetEnv, Pool, SocketId, SocketKind, Stack};

#[path = "../src/testenv.rs"]
mod testenv;
use testenv::TestEnv;

const PORTS: usize = 4;
const PORT: u16 = 7000;

fn addr(n: u8) -> [u8; 4] {
    [10, 0, 3, n + 1]
}

fn mac(n: u8) -> [u8; 6] {
    [2, 0, 10, 0, 3, n + 1]
}

struct Net {
    pool: &'static Pool,
    stacks: Vec<(Box<Stack>, TestEnv)>,
    bridge: Bridge<usize, PORTS>,
}

impl Net {
    /// Stacks on ports 1..=n of a bridge, each with its own address.
    fn new(n: u8) -> Net {
        let pool: &'static Pool = Box::leak(Box::new(Pool::<[Buf; 128]>::new()));
        let mut bridge = Bridge::new();
        let mut stacks = Vec::new();
        for i in 1..=n {
            let mut s = Box::new(Stack::new(pool));
            s.set_mac(mac(i));
            let c = IfConfig {
                addr: addr(i),
                netmask: [255, 255, 255, 0],
                gateway: addr(0),
                ..IfConfig::default()
            };
            s.set_config(&c).unwrap();
            bridge.attach(i as usize, mac(i), i as usize - 1);
            stacks.push((s, TestEnv::at(1000)));
        }
        Net {
            pool,
            stacks,
            bridge,
        }
    }

    /// Moves frames until the wire is quiet: what each stack sent goes on
    /// the bridge from its port, what the bridge delivers goes up the
    /// receiving stacks (a share of the buffer to all but the last).
    fn run(&mut self) {
        loop {
            for (i, (_, env)) in self.stacks.iter_mut().enumerate() {
                for m in env.sent.drain(..) {
                    self.bridge.transmit(i + 1, m);
                }
            }
            let Some(d) = self.bridge.pop() else { break };
            let to: Vec<usize> = d.to.iter().flatten().copied().collect();
            let (last, others) = to.split_last().unwrap();
            for &i in others {
                let (s, env) = &mut self.stacks[i];
                s.input(env, d.m.share());
            }
            let (s, env) = &mut self.stacks[*last];
            s.input(env, d.m);
        }
    }

    fn udp(&mut self, i: usize) -> SocketId {
        let s = &mut self.stacks[i].0;
        let id = s.socket(SocketKind::Udp).unwrap();
        s.bind(id, &SockAddrIn::new([0; 4], PORT)).unwrap();
        id
    }
}

#[test]
fn containers_on_one_port_reach_each_other_by_address_only() {
    let mut net = Net::new(3);
    let (a, b, c) = (net.udp(0), net.udp(1), net.udp(2));
    let mut m = net.pool.alloc().unwrap();
    m.append(5).unwrap().copy_from_slice(b"hello");
    let to = SockAddrIn::new(addr(2), PORT);
    {
        let (s, env) = &mut net.stacks[0];
        s.sendto(env, a, m, Some(&to)).unwrap();
    }
    net.run();
    let (got, from) = net.stacks[1].0.recvfrom(b).unwrap();
    assert_eq!(from, SockAddrIn::new(addr(1), PORT));
    let mut bytes = Vec::new();
    got.copy_out(64, |p| {
        bytes.extend_from_slice(p);
        Ok::<(), ()>(())
    })
    .unwrap();
    assert_eq!(bytes, b"hello");
    drop(got);
    assert!(
        net.stacks[2].0.recvfrom(c).is_err(),
        "the bystander heard it"
    );
    // The ARP request was flooded to both others, the reply and the
    // datagram each went to one port.
    assert_eq!(net.bridge.stat(BridgeStat::Flooded), 1);
    assert_eq!(net.bridge.stat(BridgeStat::FramesIn), 3);
    assert_eq!(net.bridge.stat(BridgeStat::FramesDelivered), 4);
    // The bystander dropped the request as not for it (it saw the
    // request: the owner answered in a buffer of its own, not over the
    // shared one), and nothing else.
    let c_drops = net.stacks[2].0.counters();
    assert_eq!(c_drops.drops(net::DropReason::ArpNotForUs), 1);
    assert_eq!(c_drops.drops(net::DropReason::EthNotForUs), 0);
    assert_eq!(net.pool.free(), net.pool.total(), "a buffer was kept");
}
