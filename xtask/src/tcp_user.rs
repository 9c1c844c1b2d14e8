//! TCP between the guest and real peers on the host, through QEMU's
//! user-mode network: the guest's `curl` downloads a file from Python's
//! `http.server` on the host (10.0.2.2 to the guest) and `sha256sum` checks
//! it; then the guest's `httpd` serves that file and the host's `curl`
//! downloads it through the forwarded port, compared byte for byte. Before
//! those, the same guest resolves names against the test's own name
//! server (`dns_user`). After both, RX copied nothing, every mbuf is back,
//! tshark judges the capture, and no frame went to QEMU's DNS forwarder.
use anyhow::{ensure, Context, Result};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::build::Images;
use crate::console::Console;
use crate::dns_user::{self, DnsServer};
use crate::guest::{Guest, Net};
use crate::transfer::{self, HttpServer, WebRoot, FILE_SIZE, GUEST_FILE};
use crate::{guestnet, tshark};

const BOOT: Duration = Duration::from_secs(120);
const SHORT: Duration = Duration::from_secs(30);
/// The guest port `httpd` serves on by default.
const HTTPD: u16 = 80;

pub fn test(images: &Images) -> Result<()> {
    eprintln!(
        "\n== TCP with the host over QEMU's user network: curl and http.server, httpd and curl"
    );
    crate::setup::tool("curl", "curl")?;
    let started = Instant::now();
    let www = WebRoot::new("tcp-user-www", 0x5eed_0001)?;
    let server = HttpServer::start(&[], &www.dir, "127.0.0.1", guestnet::free_tcp_port()?)?;
    let http_fwd = guestnet::free_tcp_port()?;
    let dns = DnsServer::start()?;
    let images = dns_user::images_with_resolver(images, "tcp-user", &dns)?;
    let pcap = guestnet::artifact("tcp-user.pcap");
    std::fs::remove_file(&pcap).ok();
    let guest = Guest {
        images,
        net: Net::User {
            udp_forwards: Vec::new(),
            tcp_forwards: vec![(http_fwd, HTTPD)],
        },
        pcap: pcap.clone(),
        gdb: None,
    };
    let log = guestnet::artifact("tcp-user-console.log");
    let mut con = Console::spawn("tcp-user", guest.command(), &log)?;
    con.expect("$ ", BOOT)
        .context("waiting for the shell prompt")?;
    dns_user::test(&mut con, &dns)?;
    drop(dns);

    let t = Instant::now();
    let url = format!("http://10.0.2.2:{}/{GUEST_FILE}", server.port);
    transfer::guest_fetches(
        &mut con,
        &url,
        GUEST_FILE,
        &www.sha256(),
        "guest curl <- host http.server",
    )?;
    eprintln!(
        "  ok: guest curl {url}: {FILE_SIZE} bytes, sha256sum agrees ({:.1?})",
        t.elapsed()
    );
    drop(server);

    transfer::guest_server(&mut con, "httpd", "httpd: serving")?;
    let t = Instant::now();
    let url = format!("http://127.0.0.1:{http_fwd}/{GUEST_FILE}");
    let out = guestnet::artifact("tcp-user-download");
    let args = transfer::curl_args(&url, &out);
    transfer::curl_gets(
        Command::new(&args[0]).args(&args[1..]),
        &out,
        &www.bytes,
        "host curl <- guest httpd",
    )?;
    eprintln!(
        "  ok: host curl {url}: {FILE_SIZE} bytes, identical ({:.1?})",
        t.elapsed()
    );

    let (counters, balance) = guestnet::mbufs_drained(&mut con)?;
    let copied = counters
        .get("rx_bytes_copied")
        .context("netstat has no rx_bytes_copied")?;
    ensure!(*copied == 0, "the RX path copied {copied} bytes");
    eprintln!("  ok: rx_bytes_copied 0; mbufs: {balance}");
    con.send_line("halt")?;
    con.wait_exit(SHORT)?;
    drop(con);
    let guest_mac = net::Iface::UNCONFIGURED
        .mac
        .map(|b| format!("{b:02x}"))
        .join(":");
    tshark::check_tcp(&pcap, &guest_mac)?;
    dns_user::nothing_asked_of_qemu(&pcap)?;
    eprintln!(
        "TCP over the user network passed in {:.0?}",
        started.elapsed()
    );
    Ok(())
}
