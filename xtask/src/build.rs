//! Building what a guest boots: the kernel and user programs (release,
//! riscv64), and file system images holding the programs and the README.
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

use crate::paths::{self, TARGET};

pub struct Images {
    pub kernel: PathBuf,
    pub fs_img: PathBuf,
}

/// Names of the user programs: one per file in user/src/bin/.
pub fn user_programs() -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(paths::root().join("user/src/bin"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            names.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Where the built user programs are.
pub fn user_program_paths() -> Result<Vec<PathBuf>> {
    let bins = paths::riscv_release();
    Ok(user_programs()?.into_iter().map(|n| bins.join(n)).collect())
}

/// The kernel a build leaves.
pub fn kernel() -> PathBuf {
    paths::riscv_release().join("kernel")
}

/// Builds the kernel and the user programs; returns the kernel.
pub fn binaries() -> Result<PathBuf> {
    crate::setup::rust_target()?;
    let ok = paths::cargo()
        .args(["build", "--release", "--target", TARGET])
        .args(["-p", "kernel", "-p", "user"])
        .status()?
        .success();
    if !ok {
        bail!("building the kernel and user programs failed");
    }
    Ok(kernel())
}

/// Writes a fresh file system image at `image`: the README and every
/// user program (built already).
pub fn mkfs(image: &Path) -> Result<()> {
    mkfs_with(image, &[])
}

/// As [`mkfs`], with `extra` files: (path in the image, host file), e.g.
/// a test's `etc/resolv.conf`.
pub fn mkfs_with(image: &Path, extra: &[(&str, &Path)]) -> Result<()> {
    let mut files: Vec<std::ffi::OsString> = vec![paths::root().join("README.md").into()];
    files.extend(user_program_paths()?.into_iter().map(Into::into));
    for (dest, src) in extra {
        let mut arg = std::ffi::OsString::from(format!("{dest}="));
        arg.push(src);
        files.push(arg);
    }
    let ok = paths::cargo()
        .args(["run", "--quiet", "--release", "-p", "mkfs", "--"])
        .arg(image)
        .args(&files)
        .status()
        .context("running mkfs")?
        .success();
    if !ok {
        bail!("mkfs failed");
    }
    Ok(())
}

/// Builds everything and a fresh image at `image`, for a test's own guests.
pub fn images(image: &Path) -> Result<Images> {
    let kernel = binaries()?;
    mkfs(image)?;
    Ok(Images {
        kernel,
        fs_img: image.to_path_buf(),
    })
}

/// Runs `mkfs --check` on an image.
pub fn check_fs(image: &Path) -> Result<()> {
    let ok = paths::cargo()
        .args(["run", "--quiet", "--release", "-p", "mkfs", "--", "--check"])
        .arg(image)
        .status()
        .context("running mkfs --check")?
        .success();
    if !ok {
        bail!("mkfs --check {} failed", paths::shown(image));
    }
    Ok(())
}
