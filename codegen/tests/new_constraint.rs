//! End to end: a constraint added to a spec becomes a new named drop counter
//! of the stack with no hand-written change.
//!
//! On a scratch copy of `proto-defs/` and the `abi`, `wire` and `net` crates,
//! `udp.toml` gains `dst_port != 0` named `zero_port`; regenerating gives
//! `UdpError::ZeroPort` and `DropReason::UdpZeroPort` ("drop_udp_zero_port"),
//! and the stack built from the copy drops a datagram to port 0 under that
//! counter. The copy builds in `target/new-constraint` (once from scratch,
//! then incrementally).

use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The scratch workspace: specs, the three crates (net without its
/// dev-dependencies and tests, but with the shared test helpers).
fn scratch() -> PathBuf {
    let real = workspace();
    let root = std::env::temp_dir().join(format!("codegen-new-constraint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for dir in ["proto-defs", "kernel/abi", "kernel/wire", "kernel/net/src"] {
        copy_dir(&real.join(dir), &root.join(dir));
    }
    copy_dir(
        &real.join("kernel/net/tests/common"),
        &root.join("kernel/net/tests/common"),
    );
    for file in ["Cargo.lock", "rust-toolchain.toml"] {
        std::fs::copy(real.join(file), root.join(file)).unwrap();
    }
    let net = std::fs::read_to_string(real.join("kernel/net/Cargo.toml")).unwrap();
    let net = net.split("[dev-dependencies]").next().unwrap();
    std::fs::write(root.join("kernel/net/Cargo.toml"), net).unwrap();
    let manifest = std::fs::read_to_string(real.join("Cargo.toml")).unwrap();
    let shared = &manifest[manifest.find("[workspace.package]").unwrap()..];
    std::fs::write(
        root.join("Cargo.toml"),
        format!(
            "[workspace]\nresolver = \"2\"\nmembers = [\"kernel/abi\", \"kernel/wire\", \"kernel/net\"]\n\n{shared}"
        ),
    )
    .unwrap();
    root
}

#[test]
fn a_new_constraint_is_a_new_drop_counter() {
    let root = scratch();
    let udp = root.join("proto-defs/udp.toml");
    let text = std::fs::read_to_string(&udp).unwrap();
    let text = text.replace(
        "doc = \"Destination port.\"",
        "doc = \"Destination port.\"\nconstraint = [{ name = \"zero_port\", check = \"dst_port != 0\", doc = \"Port 0 is reserved.\" }]",
    );
    std::fs::write(&udp, text).unwrap();
    codegen::run(&root, false).unwrap_or_else(|e| panic!("{e}"));

    let wire = |f: &str| std::fs::read_to_string(root.join("kernel/wire/src").join(f)).unwrap();
    assert!(
        wire("udp.rs").contains("ZeroPort = \"zero_port\","),
        "no UdpError::ZeroPort"
    );
    assert!(
        wire("drops.rs").contains("UdpZeroPort = \"drop_udp_zero_port\","),
        "no drop reason"
    );

    // The stack, built from the copy, drops a datagram to port 0 under it.
    std::fs::write(
        root.join("kernel/net/tests/new_constraint.rs"),
        r#"
mod common;
use common::*;

#[test]
fn port_zero_is_dropped_under_its_own_counter() {
    assert_eq!(net::DropReason::UdpZeroPort.name(), "drop_udp_zero_port");
    let mut t = T::new();
    t.input(&udp_frame(1234, 0, b"to port zero"));
    assert_eq!(t.drops(), vec![("drop_udp_zero_port".to_string(), 1)]);
    t.input(&udp_frame(1234, 9, b"to a closed port"));
    assert_eq!(t.counter("drop_udp_no_socket"), 1);
}
"#,
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["test", "--offline", "-p", "net", "--test", "new_constraint"])
        .current_dir(&root)
        .env(
            "CARGO_TARGET_DIR",
            workspace().join("target/new-constraint"),
        )
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the regenerated stack failed:\n{log}");
    assert!(
        log.contains("port_zero_is_dropped_under_its_own_counter ... ok"),
        "{log}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
