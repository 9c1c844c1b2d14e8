//! The interactive guest's disk image on the host (`build/fs.img`, or the
//! one given with `--fs`): when it is rebuilt, and who holds it.
//!
//! The image persists between runs of `cargo xtask qemu`. It is rebuilt
//! only when it is missing, when the user programs it was made from or the
//! disk format have changed (a hash of each is kept beside it in
//! `<image>.inputs`), or when asked (`--fresh-fs`). The format is what
//! `proto-defs/fs_layout.toml` and `kernel/abi/src/fs.rs` declare: an image
//! in an older one would be misread by the new kernel, never kept.
//!
//! A running session holds an exclusive `flock` on `<image>.lock`, in which
//! it records its process id and the ports it picked (so that
//! `cargo xtask send` can find the guest). A second session on the same
//! image is refused before anything touches the image; so is a session on
//! an image that any other process (a QEMU started by hand, say) has open.
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::hash::{DefaultHasher, Hasher};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::{build, paths};

/// The image `cargo xtask qemu` boots unless given `--fs`.
pub fn default_image() -> PathBuf {
    paths::build_dir().join("fs.img")
}

/// What a running session tells other xtask commands about itself.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Session {
    /// The `cargo xtask qemu` process.
    pub pid: u32,
    /// Host UDP port forwarded to the guest's port 7 (`udpecho`).
    pub udp_port: u16,
    /// The host echo server `nettests` talks to (as 10.0.2.2).
    pub echo_port: u16,
    /// Where the NIC's frames are captured.
    pub pcap: PathBuf,
}

/// The exclusive right to boot one image, held until dropped.
pub struct Claim {
    file: File,
}

fn with_suffix(image: &Path, suffix: &str) -> PathBuf {
    let mut name = image.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn lock_path(image: &Path) -> PathBuf {
    with_suffix(image, ".lock")
}

/// How to start a guest next to the one holding `image`: on the first of
/// fs2.img, fs3.img, ... beside it that no running guest holds.
fn second_guest_hint(image: &Path) -> String {
    let free = (2..)
        .map(|n| image.with_file_name(format!("fs{n}.img")))
        .find(|p| p != image && !held(p))
        .expect("some fsN.img is free");
    format!(
        "for a second guest give it its own disk: cargo xtask qemu --fs {} (its ports are picked free)",
        paths::shown(&free)
    )
}

/// Whether a running session holds `image`.
fn held(image: &Path) -> bool {
    File::open(lock_path(image))
        .is_ok_and(|f| matches!(f.try_lock(), Err(TryLockError::WouldBlock)))
}

impl Claim {
    /// Takes `image` for this process, or says who has it.
    pub fn take(image: &Path) -> Result<Claim> {
        let path = lock_path(image);
        if let Some(dir) = image.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                file.read_to_string(&mut text).ok();
                let holder = match serde_json::from_str::<Session>(&text) {
                    Ok(s) => format!("`cargo xtask qemu` (pid {})", s.pid),
                    Err(_) => "another `cargo xtask qemu` that is still starting".into(),
                };
                bail!(
                    "{} is in use by {holder}; {}",
                    paths::shown(image),
                    second_guest_hint(image)
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
        if let Some((pid, cmd)) = open_by_others(image).into_iter().next() {
            bail!(
                "{} is open in process {pid} ({cmd}); {}",
                paths::shown(image),
                second_guest_hint(image)
            );
        }
        file.set_len(0)?;
        Ok(Claim { file })
    }

    /// Records what the session picked, for `cargo xtask send`.
    pub fn record(&mut self, session: &Session) -> Result<()> {
        self.file.set_len(0)?;
        self.file.rewind()?;
        self.file
            .write_all(serde_json::to_string(session)?.as_bytes())?;
        Ok(())
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        // The file stays (removing it would race with a process about to
        // lock it); emptied, it names no session.
        self.file.set_len(0).ok();
    }
}

/// The session running on `image`, if one is.
pub fn running_session(image: &Path) -> Result<Session> {
    let path = lock_path(image);
    let none = || {
        format!(
            "no `cargo xtask qemu` is running on {}",
            paths::shown(image)
        )
    };
    let mut file = File::open(&path).with_context(none)?;
    if file.try_lock_shared().is_ok() {
        bail!("{}", none());
    }
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    serde_json::from_str(&text).with_context(|| format!("{} is still starting", none()))
}

/// Other processes that have `image` open, with their command lines, found
/// the way fuser(1) does: through /proc/PID/fd (processes we may not look
/// into are skipped).
fn open_by_others(image: &Path) -> Vec<(u32, String)> {
    let Ok(target) = image.canonicalize() else {
        return Vec::new();
    };
    let me = std::process::id();
    let mut found = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|p| p == target))
        {
            let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            found.push((pid, cmd.trim().chars().take(120).collect()));
        }
    }
    found
}

/// A fingerprint of `files`: their names and contents.
fn fingerprint(files: &[PathBuf]) -> Result<String> {
    let mut h = DefaultHasher::new();
    for p in files {
        h.write(p.file_name().unwrap_or_default().as_encoded_bytes());
        h.write(&std::fs::read(p).with_context(|| format!("reading {}", p.display()))?);
    }
    Ok(format!("{:016x}", h.finish()))
}

/// The sources that decide the disk format: the on-disk structures and
/// the file system's parameters (block, disk and log sizes, inodes).
fn format_sources() -> Vec<PathBuf> {
    let root = paths::root();
    vec![
        root.join("proto-defs/fs_layout.toml"),
        root.join("kernel/abi/src/fs.rs"),
    ]
}

/// What an image was made from, as recorded in `<image>.inputs`.
#[derive(Debug, PartialEq)]
struct Inputs {
    /// Fingerprint of the user programs.
    programs: String,
    /// Fingerprint of the disk format's sources.
    format: String,
}

impl Inputs {
    fn current() -> Result<Inputs> {
        Ok(Inputs {
            programs: fingerprint(&build::user_program_paths()?)?,
            format: fingerprint(&format_sources())?,
        })
    }

    fn to_text(&self) -> String {
        format!("programs {}\nformat {}\n", self.programs, self.format)
    }

    /// The fingerprint recorded for `key` in a stamp's text.
    fn recorded<'a>(text: &'a str, key: &str) -> Option<&'a str> {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .map(str::trim)
    }
}

/// Why an image has to be (re)made, or `None` when it can be kept.
fn why_rebuild(image: &Path, inputs: &Inputs, fresh: bool) -> Option<&'static str> {
    if fresh {
        return Some("--fresh-fs");
    }
    if !image.exists() {
        return Some("no image yet");
    }
    let Ok(old) = std::fs::read_to_string(with_suffix(image, ".inputs")) else {
        return Some("no record of what it was made from");
    };
    // A stamp without a format line predates the record: its format is
    // unknown, so it counts as changed.
    if Inputs::recorded(&old, "format") != Some(inputs.format.as_str()) {
        return Some("the disk format changed");
    }
    if Inputs::recorded(&old, "programs") != Some(inputs.programs.as_str()) {
        return Some("the user programs changed");
    }
    None
}

/// Makes `image` current for the programs just built, keeping it (and
/// the files written in it) when nothing changed. Needs the claim.
pub fn prepare(_claim: &Claim, image: &Path, fresh: bool) -> Result<()> {
    let inputs = Inputs::current()?;
    let Some(why) = why_rebuild(image, &inputs, fresh) else {
        eprintln!(
            "xv6net: keeping {} (files written in the guest are still there; --fresh-fs starts over)",
            paths::shown(image)
        );
        return Ok(());
    };
    if image.exists() {
        eprintln!(
            "xv6net: rebuilding {} ({why}): files written in the guest are gone",
            paths::shown(image)
        );
    }
    build::mkfs(image)?;
    std::fs::write(with_suffix(image, ".inputs"), inputs.to_text())?;
    Ok(())
}

/// `cargo xtask build`: the binaries and `build/fs.img`, kept when current
/// (and refused while a guest runs on it).
pub fn build_default() -> Result<()> {
    build::binaries()?;
    let image = default_image();
    let claim = Claim::take(&image)?;
    prepare(&claim, &image, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-disk-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("fs.img")
    }

    #[test]
    fn a_second_claim_is_refused_naming_the_first() {
        let image = scratch("claim");
        std::fs::write(&image, b"x").unwrap();
        let mut first = Claim::take(&image).unwrap();
        let session = Session {
            pid: 4242,
            udp_port: 1,
            echo_port: 2,
            pcap: "q.pcap".into(),
        };
        first.record(&session).unwrap();
        assert_eq!(running_session(&image).unwrap(), session);
        let err = Claim::take(&image).err().unwrap().to_string();
        assert!(err.contains("pid 4242"), "{err}");
        assert!(err.contains("--fs") && err.contains("fs2.img"), "{err}");
        // Asked about fs2.img while it runs, the hint moves on to fs3.img.
        let fs2 = image.with_file_name("fs2.img");
        let _second = Claim::take(&fs2).unwrap();
        let err = Claim::take(&fs2).err().unwrap().to_string();
        assert!(err.contains("fs3.img"), "{err}");
        drop(first);
        assert!(running_session(&image).is_err());
        // Free again; a child another test forks may share the lock until
        // it execs, so allow it a moment.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while let Err(e) = Claim::take(&image) {
            assert!(std::time::Instant::now() < deadline, "{e}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    #[test]
    fn an_image_another_process_has_open_is_refused() {
        let image = scratch("open");
        std::fs::write(&image, b"x").unwrap();
        let mut holder = std::process::Command::new("sh")
            .arg("-c")
            .arg("exec 3<\"$0\"; sleep 30")
            .arg(&image)
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let err = loop {
            match Claim::take(&image) {
                Err(e) => break e.to_string(),
                Ok(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                Ok(_) => panic!("the open image was not noticed"),
            }
        };
        holder.kill().ok();
        holder.wait().ok();
        assert!(err.contains(&format!("process {}", holder.id())), "{err}");
    }

    #[test]
    fn rebuild_only_when_inputs_change() {
        let image = scratch("stamp");
        let stamp = with_suffix(&image, ".inputs");
        let inputs = |programs: &str, format: &str| Inputs {
            programs: programs.into(),
            format: format.into(),
        };
        std::fs::remove_file(&image).ok();
        std::fs::remove_file(&stamp).ok();
        let a = inputs("a", "f");
        assert_eq!(why_rebuild(&image, &a, false), Some("no image yet"));
        std::fs::write(&image, b"x").unwrap();
        assert_eq!(
            why_rebuild(&image, &a, false),
            Some("no record of what it was made from")
        );
        std::fs::write(&stamp, a.to_text()).unwrap();
        assert_eq!(why_rebuild(&image, &a, false), None);
        assert_eq!(why_rebuild(&image, &a, true), Some("--fresh-fs"));
        assert_eq!(
            why_rebuild(&image, &inputs("b", "f"), false),
            Some("the user programs changed")
        );
        assert_eq!(
            why_rebuild(&image, &inputs("a", "g"), false),
            Some("the disk format changed")
        );
        // A stamp of the programs alone, as images made before the format
        // was recorded have: the image may be in an older format.
        std::fs::write(&stamp, "a").unwrap();
        assert_eq!(
            why_rebuild(&image, &a, false),
            Some("the disk format changed")
        );
    }

    #[test]
    fn the_format_fingerprint_covers_the_layout_and_parameters() {
        let sources = format_sources();
        assert!(sources.iter().all(|p| p.exists()), "{sources:?}");
        let text = std::fs::read_to_string(&sources[1]).unwrap();
        assert!(text.contains("pub const FSSIZE"), "parameters moved?");
        let spec = std::fs::read_to_string(&sources[0]).unwrap();
        assert!(spec.contains("name = \"DInode\""), "layout moved?");
        let f = fingerprint(&sources).unwrap();
        assert_eq!(f, fingerprint(&sources).unwrap());
        assert_ne!(f, fingerprint(&sources[..1]).unwrap());
    }
}
