//! Files moved over TCP by the tests, and the programs at each end: a file
//! of known bytes and its SHA-256, Python's `http.server` serving a
//! directory (on the host, or inside the Linux peer's namespace), the
//! host's `curl`, and the guest's `curl`, `httpd` and `sha256sum` typed at
//! its shell.
use anyhow::{bail, ensure, Context, Result};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::console::Console;
use crate::guestnet;

/// The size of every file the TCP tests move: 4 MiB, through the file
/// system's doubly-indirect block.
pub const FILE_SIZE: usize = 4 << 20;

/// The guest's path for a file it downloads and then serves.
pub const GUEST_FILE: &str = "big";

/// A smaller file beside it, for many connections at once: what they
/// test is the connections, not the file system's read speed.
pub const SMALL_FILE: &str = "small";
pub const SMALL_SIZE: usize = 256 << 10;

/// How long the guest may take to move one file (QEMU's TCG on a busy
/// 2-core host, with netem's losses and delays).
const TRANSFER: Duration = Duration::from_secs(240);

/// `len` bytes that do not repeat within a file (xorshift64 from `seed`),
/// so a misplaced or duplicated segment cannot go unnoticed.
pub fn test_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// SHA-256 in lower-case hex, as `sha256sum` prints it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A directory under build/ holding a file of [`FILE_SIZE`] test bytes
/// named [`GUEST_FILE`] and one of [`SMALL_SIZE`] named [`SMALL_FILE`],
/// served by an [`HttpServer`].
pub struct WebRoot {
    pub dir: PathBuf,
    pub bytes: Vec<u8>,
    pub small: Vec<u8>,
}

impl WebRoot {
    pub fn new(name: &str, seed: u64) -> Result<WebRoot> {
        let dir = guestnet::artifact(name);
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir)?;
        let bytes = test_bytes(FILE_SIZE, seed);
        std::fs::write(dir.join(GUEST_FILE), &bytes)?;
        let small = test_bytes(SMALL_SIZE, seed + 1);
        std::fs::write(dir.join(SMALL_FILE), &small)?;
        Ok(WebRoot { dir, bytes, small })
    }

    pub fn sha256(&self) -> String {
        sha256_hex(&self.bytes)
    }
}

/// `python3 -m http.server` serving a directory until dropped.
pub struct HttpServer {
    child: Child,
    pub port: u16,
}

impl HttpServer {
    /// Starts the server with `wrap` in front of its command line (empty:
    /// on the host; `ip netns exec NS`: in a namespace), bound to
    /// `addr:port`, and waits until it says it serves.
    pub fn start(wrap: &[&str], dir: &Path, addr: &str, port: u16) -> Result<HttpServer> {
        let port_s = port.to_string();
        let dir_s = dir.to_str().context("web root path")?;
        let python = [
            "python3",
            "-u",
            "-m",
            "http.server",
            &port_s,
            "--bind",
            addr,
            "--directory",
            dir_s,
        ];
        let argv: Vec<&str> = wrap.iter().chain(python.iter()).copied().collect();
        let mut child = Command::new(argv[0])
            .args(&argv[1..])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting python3 -m http.server")?;
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first)?;
        if !first.starts_with("Serving HTTP") {
            child.kill().ok();
            child.wait().ok();
            bail!("http.server on {addr}:{port} did not start: {first:?}");
        }
        Ok(HttpServer { child, port })
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The arguments of a `curl` download of `url` to `out` that fails on any
/// HTTP or transfer error.
pub fn curl_args(url: &str, out: &Path) -> Vec<String> {
    let mut args: Vec<String> = ["curl", "-sS", "--fail", "--max-time"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(TRANSFER.as_secs().to_string());
    args.extend(["-o".into(), out.display().to_string(), url.into()]);
    args
}

/// Runs a `curl` command line (see [`curl_args`], maybe wrapped) and
/// requires the file it wrote to equal `want`, byte for byte.
pub fn curl_gets(cmd: &mut Command, out: &Path, want: &[u8], what: &str) -> Result<()> {
    std::fs::remove_file(out).ok();
    let run = cmd
        .output()
        .with_context(|| format!("running curl ({what})"))?;
    ensure!(
        run.status.success(),
        "{what}: curl failed ({}): {}",
        run.status,
        String::from_utf8_lossy(&run.stderr).trim()
    );
    same_bytes(out, want, what)
}

/// The file at `path` holds exactly `want`; otherwise where it differs.
pub fn same_bytes(path: &Path, want: &[u8], what: &str) -> Result<()> {
    let got = std::fs::read(path).with_context(|| format!("{what}: reading {}", path.display()))?;
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        bail!(
            "{what}: {} bytes arrived, {} expected; first difference at {:?}",
            got.len(),
            want.len(),
            at.unwrap_or(got.len().min(want.len()))
        );
    }
    Ok(())
}

/// The guest downloads `url` to `file` with its `curl` and checks it with
/// `sha256sum` against `sha256`.
pub fn guest_fetches(
    con: &mut Console,
    url: &str,
    file: &str,
    sha256: &str,
    what: &str,
) -> Result<()> {
    con.run(&format!("rm {file}"), Duration::from_secs(30))?;
    let out = con.run(&format!("curl -o {file} {url}"), TRANSFER)?;
    ensure!(
        !out.contains("curl:"),
        "{what}: the guest's curl {url} failed:\n{out}"
    );
    guest_has(con, file, sha256, what)
}

/// The guest's `curl url | sha256sum` prints `sha256`: a download that
/// never touches the file system.
pub fn guest_streams(con: &mut Console, url: &str, sha256: &str, what: &str) -> Result<()> {
    let out = con.run(&format!("curl {url} | sha256sum"), TRANSFER)?;
    let want = format!("{sha256}  -");
    ensure!(
        !out.contains("curl:") && out.lines().any(|l| l.trim() == want),
        "{what}: the guest's curl {url} | sha256sum printed\n{out}\nnot {want:?}"
    );
    Ok(())
}

/// Starts `program` in the background at the guest's shell and waits until
/// it says `ready` (a connection made before it listens would be refused).
pub fn guest_server(con: &mut Console, program: &str, ready: &str) -> Result<()> {
    // It may say so before the shell's next prompt, or after it.
    if con
        .run(&format!("{program} &"), Duration::from_secs(30))?
        .contains(ready)
    {
        return Ok(());
    }
    con.expect(ready, Duration::from_secs(30))
        .with_context(|| format!("`{program} &` never printed {ready:?}"))?;
    Ok(())
}

/// `sha256sum` in the guest prints `sha256` for `file`.
pub fn guest_has(con: &mut Console, file: &str, sha256: &str, what: &str) -> Result<()> {
    let out = con.run(&format!("sha256sum {file}"), TRANSFER)?;
    let want = format!("{sha256}  {file}");
    ensure!(
        out.lines().any(|l| l.trim() == want),
        "{what}: sha256sum in the guest printed\n{out}\nnot {want:?}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_bytes_are_deterministic_and_sized() {
        let a = test_bytes(1001, 7);
        assert_eq!(a.len(), 1001);
        assert_eq!(a, test_bytes(1001, 7));
        assert_ne!(a, test_bytes(1001, 8));
        // No 8-byte word repeats in a file of the size the tests move.
        let words: std::collections::HashSet<_> = test_bytes(FILE_SIZE, 1)
            .chunks(8)
            .map(<[u8]>::to_vec)
            .collect();
        assert_eq!(words.len(), FILE_SIZE / 8);
    }

    #[test]
    fn sha256_matches_the_standard() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
