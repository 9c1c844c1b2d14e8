//! Where things are: the repository, cargo's target directory, build outputs.
use std::path::PathBuf;

pub const TARGET: &str = "riscv64gc-unknown-none-elf";

/// The repository root (xtask lives one level below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Cargo's target directory, honouring CARGO_TARGET_DIR.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => root().join("target"),
    }
}

/// Where riscv64 release binaries land.
pub fn riscv_release() -> PathBuf {
    target_dir().join(TARGET).join("release")
}

/// Images, captures and console logs of runs (kept for reading after a failure).
pub fn build_dir() -> PathBuf {
    let dir = root().join("build");
    std::fs::create_dir_all(&dir).expect("create build/");
    dir
}

/// The cargo that runs us, so the pinned toolchain is used throughout.
pub fn cargo() -> std::process::Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(root());
    cmd
}

/// A path as the user would type it: relative to the repository when inside it.
pub fn shown(path: &std::path::Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}
