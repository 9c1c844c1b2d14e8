//! Helpers shared by the network interop tests (`lan`, `tap`, `hostile`):
//! free loopback ports, per-guest copies of fs.img, reading `netstat`
//! counters off a guest console.
use anyhow::{ensure, Context, Result};
use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::time::Duration;

use crate::build::Images;
use crate::console::Console;
use crate::paths;

/// Two different free UDP ports (both bound at once, so they differ).
pub fn two_free_udp_ports() -> Result<(u16, u16)> {
    let a = UdpSocket::bind("127.0.0.1:0")?;
    let b = UdpSocket::bind("127.0.0.1:0")?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}

/// A UDP echo server on the host's loopback, for as long as xtask runs. The
/// guest reaches it through QEMU's user-mode gateway as 10.0.2.2; the
/// benchmark also uses it as its baseline peer.
pub fn loopback_echo_server() -> Result<u16> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let port = sock.local_addr()?.port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            sock.send_to(&buf[..n], from).ok();
        }
    });
    Ok(port)
}

/// A private copy of fs.img for one guest (guests must not share a disk).
pub fn own_images(images: &Images, name: &str) -> Result<Images> {
    let fs_img = paths::build_dir().join(format!("{name}-fs.img"));
    std::fs::copy(&images.fs_img, &fs_img)
        .with_context(|| format!("copying fs.img to {}", fs_img.display()))?;
    Ok(Images {
        kernel: images.kernel.clone(),
        fs_img,
    })
}

/// Every counter `netstat` printed, by name.
pub type Counters = BTreeMap<String, u64>;

/// Runs `netstat -a` (every counter, zero or not) on the guest and parses
/// its `  name value` lines.
pub fn netstat(con: &mut Console) -> Result<Counters> {
    let out = con.run("netstat -a", Duration::from_secs(20))?;
    let mut map = Counters::new();
    let mut in_counters = false;
    for line in out.lines() {
        if line.starts_with("Counters") {
            in_counters = true;
            continue;
        }
        let mut words = line.split_whitespace();
        if let (true, Some(name), Some(value), None) =
            (in_counters, words.next(), words.next(), words.next())
        {
            if let Ok(v) = value.parse() {
                map.insert(name.to_string(), v);
            }
        }
    }
    ensure!(
        !map.is_empty(),
        "{}: netstat printed no counters:\n{out}",
        con.name
    );
    Ok(map)
}

/// How much each counter grew from `before` to `after` (only those that moved).
pub fn deltas(before: &Counters, after: &Counters) -> BTreeMap<String, i64> {
    after
        .iter()
        .filter_map(|(k, &v)| {
            let d = v as i64 - *before.get(k).unwrap_or(&0) as i64;
            (d != 0).then(|| (k.clone(), d))
        })
        .collect()
}

/// Every mbuf is back: free + posted in the RX ring + in flight on TX ==
/// total, from the driver's and the pool's counters.
pub fn mbufs_balanced(c: &Counters) -> Result<String> {
    let get = |k: &str| {
        c.get(k)
            .copied()
            .with_context(|| format!("netstat has no {k}"))
    };
    let (free, posted, inflight, total) = (
        get("mbufs_free")?,
        get("mbufs_rx_posted")?,
        get("mbufs_tx_inflight")?,
        get("mbufs_total")?,
    );
    ensure!(
        free + posted + inflight == total,
        "mbufs leaked: {free} free + {posted} in the RX ring + {inflight} on TX != {total}"
    );
    Ok(format!(
        "{free} free + {posted} in the RX ring + {inflight} on TX == {total} total"
    ))
}

/// One field of a flat JSON object as text (numbers, booleans, strings
/// without escapes): enough for the hostile script's replies without a
/// JSON dependency.
pub fn json_field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\": ");
    let at = json.find(&pat)? + pat.len();
    let rest = &json[at..];
    if let Some(s) = rest.strip_prefix('"') {
        return s.find('"').map(|end| &s[..end]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

pub fn json_u64(json: &str, key: &str) -> Result<u64> {
    json_field(json, key)
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no number {key:?} in {json}"))
}

pub fn json_bool(json: &str, key: &str) -> bool {
    json_field(json, key) == Some("true")
}

/// Where captures and console logs of a named test go.
pub fn artifact(name: &str) -> PathBuf {
    paths::build_dir().join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_fields() {
        let j = r#"{"kind": "eth_runt", "sent": 3, "ok": true, "about": "a, b (c)"}"#;
        assert_eq!(json_field(j, "kind"), Some("eth_runt"));
        assert_eq!(json_u64(j, "sent").unwrap(), 3);
        assert!(json_bool(j, "ok"));
        assert_eq!(json_field(j, "about"), Some("a, b (c)"));
        assert_eq!(json_field(j, "nope"), None);
    }
}
