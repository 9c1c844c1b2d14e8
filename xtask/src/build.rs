//! `cargo xtask build`: the kernel and user programs (release, riscv64) and a
//! fresh fs.img holding the programs and the README.
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

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

pub fn all() -> Result<Images> {
    crate::setup::rust_target()?;
    let ok = paths::cargo()
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "-p",
            "kernel",
            "-p",
            "user",
        ])
        .status()?
        .success();
    if !ok {
        bail!("building the kernel and user programs failed");
    }
    let bins = paths::riscv_release();
    let fs_img = paths::build_dir().join("fs.img");
    let mut files = vec![paths::root().join("README.md")];
    for name in user_programs()? {
        files.push(bins.join(name));
    }
    let ok = paths::cargo()
        .args(["run", "--quiet", "--release", "-p", "mkfs", "--"])
        .arg(&fs_img)
        .args(&files)
        .status()
        .context("running mkfs")?
        .success();
    if !ok {
        bail!("mkfs failed");
    }
    Ok(Images {
        kernel: bins.join("kernel"),
        fs_img,
    })
}
