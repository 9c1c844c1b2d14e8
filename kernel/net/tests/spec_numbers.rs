//! The README's grep for numbers that belong to the specs (section "No
//! numbers outside the specs"), run as written there: it must print nothing
//! over `kernel/net/src`, and it must catch one sample line of each kind it
//! names, so it can fail.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The heading of the README section that holds the command.
const SECTION: &str = "## No numbers outside the specs";
/// What the command searches; the self-check points it elsewhere.
const SCOPE: &str = "kernel/net/src/*.rs";
/// TCP's files, searched with the rest of the stack.
const TCP_SCOPE: &str = "kernel/net/src/tcp/*.rs";
/// The drivers and the file system, searched too (their registers, ring
/// words and on-disk records are declared in the specs).
const DEVICES_AND_FS: &[&str] = &[
    "kernel/src/virtio.rs",
    "kernel/src/virtio_net.rs",
    "kernel/src/virtio_blk.rs",
    "kernel/src/virtqueue.rs",
    "kernel/src/log.rs",
    "kernel/src/dir.rs",
    "kernel/src/fs.rs",
    "user/src/bin/ls.rs",
    "mkfs/src/fsck.rs",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The first ```sh block of the section.
fn readme_command() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split_once(SECTION)
        .unwrap_or_else(|| panic!("README.md has no section {SECTION:?}"))
        .1;
    let block = section
        .split_once("```sh\n")
        .expect("no ```sh block in the section")
        .1;
    block.split_once("```").unwrap().0.to_string()
}

/// Runs `command` with `sh` from the workspace root; its output lines.
fn run(command: &str) -> Vec<String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(root())
        .output()
        .expect("run sh");
    assert!(
        out.stderr.is_empty(),
        "the grep failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn no_spec_numbers_in_the_stack() {
    let command = readme_command();
    for scope in [&SCOPE, &TCP_SCOPE].into_iter().chain(DEVICES_AND_FS) {
        assert!(
            command.contains(scope),
            "the README's grep must search {scope}"
        );
        assert!(
            scope.contains('*') || root().join(scope).is_file(),
            "{scope} is gone: update the README's grep"
        );
    }
    let found = run(&command);
    assert!(
        found.is_empty(),
        "numbers the specs own, written by hand in the stack, the drivers or \
         the file system (name them through wire or abi, or build the header \
         with its generated builder):\n{}",
        found.join("\n")
    );
}

/// One line of each kind the README lists, as the stack once had them.
const SAMPLES: &[&str] = &[
    "    const IG_BIT: u8 = 0x01;",
    "    ip[0] & 0xf0 == 0xe0",
    "        h.set_checksum(0);",
    "        self.ipv4_output(env, m, IpProtocol(17), to.0);",
    "        let proto = EtherType(0x0806);",
    "        let total = m.len() + 20;",
    "        let header_len = h.ihl() as usize * 4;",
    "        let src = &m.data()[12..16];",
    "        let quoted = &body[..28];",
    "const IHL_UNIT: usize = 4;",
    "pub const HEADER_LEN: usize = 20;",
    "pub const BROADCAST: Ipv4Addr = [255; 4];",
    "        let Ok((h, _)) = Icmpv4Header::mut_from_prefix(m.data_mut()) else {",
    "        wicmp::fill_checksum(m.data_mut());",
    "        p.set_fixed_values();",
];

#[test]
fn the_grep_catches_each_kind() {
    let dir = std::env::temp_dir().join(format!("xv6net-spec-numbers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::from("// 0x0800 in a comment is fine: set_version(4)\n");
    for line in SAMPLES {
        text += line;
        text += "\n";
    }
    std::fs::write(dir.join("sample.rs"), &text).unwrap();
    let command = readme_command().replace(SCOPE, &format!("{}/*.rs", dir.display()));
    let found = run(&command);
    std::fs::remove_dir_all(&dir).unwrap();
    for (i, line) in SAMPLES.iter().enumerate() {
        // grep -n numbers lines from 1, after the comment line.
        let tag = format!(":{}:", i + 2);
        assert!(
            found.iter().any(|f| f.contains(&tag) && f.ends_with(line)),
            "the README's grep misses {line:?}; it found:\n{}",
            found.join("\n")
        );
    }
    assert_eq!(found.len(), SAMPLES.len(), "comments are skipped");
}
