//! Drives a guest's serial console from a test: send lines, wait for text.
//! Everything the guest prints is also appended to a log file so a failed
//! CI run can be read afterwards.
use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub struct Console {
    child: Child,
    stdin: ChildStdin,
    /// Everything the guest printed; the condition variable is notified
    /// whenever more arrives, so `expect` sees text as soon as it comes.
    output: Arc<(Mutex<Vec<u8>>, Condvar)>,
    /// How far `expect` has consumed `output`.
    seen: usize,
    pub name: String,
}

impl Console {
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Console> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting qemu")?;
        let stdin = child.stdin.take().unwrap();
        let output = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let log = Arc::new(Mutex::new(std::fs::File::create(log)?));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let (output, log) = (output.clone(), log.clone());
            std::thread::spawn(move || pump(stream, &output, &log));
        }
        Ok(Console {
            child,
            stdin,
            output,
            seen: 0,
            name: name.into(),
        })
    }

    /// Types `line` and a newline at the console.
    pub fn send_line(&mut self, line: &str) -> Result<()> {
        self.stdin.write_all(line.as_bytes())?;
        self.stdin.write_all(b"\n")?;
        self.stdin.flush()?;
        Ok(())
    }

    /// Types `bytes` as they are (control keys, a paste).
    pub fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.stdin.write_all(bytes)?;
        self.stdin.flush()?;
        Ok(())
    }

    /// Waits until `pattern` appears after what earlier calls consumed and
    /// returns the text up to and including it. Fails on a kernel panic, on
    /// QEMU exiting, or after `timeout`.
    pub fn expect(&mut self, pattern: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let (lock, arrived) = &*self.output;
        let mut out = lock.lock().unwrap();
        loop {
            let fresh = &out[self.seen..];
            if let Some(at) = find(fresh, pattern.as_bytes()) {
                let upto = String::from_utf8_lossy(&fresh[..at + pattern.len()]).into_owned();
                self.seen += at + pattern.len();
                return Ok(upto);
            }
            if let Some(at) = find(fresh, b"panic:") {
                let tail = String::from_utf8_lossy(&fresh[at..]);
                let tail: String = tail.chars().take(800).collect();
                bail!(
                    "{}: kernel panic while waiting for {pattern:?}:\n{tail}",
                    self.name
                );
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{}: qemu exited ({status}) while waiting for {pattern:?}",
                    self.name
                );
            }
            if Instant::now() > deadline {
                let text = String::from_utf8_lossy(&out[self.seen..]);
                let tail: String = text
                    .chars()
                    .rev()
                    .take(1500)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                bail!(
                    "{}: timed out after {timeout:?} waiting for {pattern:?}; last output:\n{tail}",
                    self.name
                );
            }
            // Woken as soon as output arrives; the timeout is for noticing
            // QEMU's exit and the deadline.
            out = arrived
                .wait_timeout(out, Duration::from_millis(20))
                .unwrap()
                .0;
        }
    }

    /// Everything `expect` has consumed so far, as text.
    pub fn seen_text(&self) -> String {
        String::from_utf8_lossy(&self.output.0.lock().unwrap()[..self.seen]).into_owned()
    }

    /// Runs a shell command and returns what it printed before the next prompt.
    pub fn run(&mut self, line: &str, timeout: Duration) -> Result<String> {
        self.send_line(line)?;
        let text = self.expect("$ ", timeout)?;
        // Drop the echoed command line itself.
        let body = text.split_once('\n').map(|(_, rest)| rest).unwrap_or("");
        Ok(body.trim_end_matches("$ ").to_string())
    }

    /// Waits for QEMU to exit (after `halt`), killing it after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                self.child.kill().ok();
                bail!("{}: qemu did not exit within {timeout:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        // Everything started under the console goes with it: a QEMU left
        // behind by `script` -> `cargo xtask qemu` would keep its ports,
        // its image and any lock the test runs under.
        kill_tree(self.child.id());
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// SIGKILLs every descendant of `pid` (found through /proc), deepest first.
fn kill_tree(pid: u32) {
    let mut parents = Vec::new();
    if let Ok(procs) = std::fs::read_dir("/proc") {
        for entry in procs.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parents.push((child, ppid));
            }
        }
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    let doomed: Vec<String> = tree[1..].iter().rev().map(u32::to_string).collect();
    if !doomed.is_empty() {
        std::process::Command::new("kill")
            .arg("-KILL")
            .args(&doomed)
            .stderr(Stdio::null())
            .status()
            .ok();
    }
}

fn pump(
    mut stream: Box<dyn Read + Send>,
    output: &(Mutex<Vec<u8>>, Condvar),
    log: &Mutex<std::fs::File>,
) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        output.0.lock().unwrap().extend_from_slice(&buf[..n]);
        output.1.notify_all();
        log.lock().unwrap().write_all(&buf[..n]).ok();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
