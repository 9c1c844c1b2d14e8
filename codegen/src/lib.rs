//! The packet-format generator: reads `proto-defs/*.toml` (`spec`), validates
//! them into a placed layout (`validate` -> `model`), and emits the `wire`
//! crate (`emit_rust`, `emit_checks`, `emit_build`, `emit_crate`), the deku reference codecs
//! and round-trip tests for `spec-tests` (`emit_deku`) and the field diagrams
//! in the module docs (`emit_doc`). Named constraints (`expr`, `checks`)
//! become each module's error enum, option lists (`options`) their iterators
//! (`emit_options`), compressed domain names (`names`) their views
//! (`emit_names`), and the receive path's drop reasons come from both
//! (`emit_drops`). Register blocks (`regs`, `emit_regs`) are
//! appended to their `wire` module; files of records (`records`,
//! `emit_records`) become modules of the `abi` crate instead.
//!
//! The `wire` modules read as declarations: the shapes every format shares
//! (accessors, builders, fixed values, option iterators, error enums) are
//! macros hand-written in `kernel/wire/src/format.rs` and `keys.rs`, which
//! the emitters invoke; larger pieces of generated code are raw-string
//! templates.
//!
//! `run(root, check)` is what `cargo xtask codegen [--check]` calls: it
//! rewrites the generated files, or with `check` only names the stale ones.

pub mod checks;
pub mod emit_build;
pub mod emit_checks;
pub mod emit_crate;
pub mod emit_deku;
pub mod emit_doc;
pub mod emit_drops;
pub mod emit_names;
pub mod emit_options;
pub mod emit_records;
pub mod emit_regs;
pub mod emit_rust;
pub mod expr;
pub mod model;
pub mod names;
pub mod options;
pub mod records;
pub mod regs;
pub mod spec;
#[cfg(test)]
mod spec_checks;
pub mod validate;

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use model::Module;
pub use validate::SpecError;

/// Where the specs live, relative to the workspace root.
pub const SPEC_DIR: &str = "proto-defs";
/// Where the `wire` crate's generated modules go.
pub const WIRE_DIR: &str = "kernel/wire/src";
/// Where the deku reference codecs go.
pub const DEKU_DIR: &str = "spec-tests/src/deku";
/// The generated round-trip tests.
pub const ROUNDTRIP_TEST: &str = "spec-tests/tests/roundtrip.rs";
/// Where records (`[[record]]`, on-disk structures) go.
pub const ABI_DIR: &str = "kernel/abi/src";

/// What can go wrong.
#[derive(Debug)]
pub enum Error {
    Io(PathBuf, std::io::Error),
    /// A spec file is not valid TOML or does not match the language.
    Parse(String, String),
    /// Specs that parse but do not add up.
    Spec(Vec<SpecError>),
    Rustfmt(String),
    /// `--check` found generated files that differ from what the specs produce.
    Stale(Vec<PathBuf>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(path, e) => write!(f, "{}: {e}", path.display()),
            Error::Parse(file, e) => write!(f, "{file}: {e}"),
            Error::Spec(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            Error::Rustfmt(e) => write!(f, "rustfmt failed: {e}"),
            Error::Stale(paths) => {
                write!(f, "generated files are stale; run `cargo xtask codegen`:")?;
                for p in paths {
                    write!(f, "\n  {}", p.display())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {}

/// A file the generator writes, with its path relative to the workspace root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: PathBuf,
    pub contents: String,
}

/// Parses one spec file's text; `file` is only used in messages.
pub fn parse(file: &str, text: &str) -> Result<spec::SpecFile, Error> {
    toml::from_str(text).map_err(|e| Error::Parse(file.to_string(), e.to_string()))
}

/// Reads and validates every `proto-defs/*.toml`, in file-name order.
pub fn load(root: &Path) -> Result<Vec<Module>, Error> {
    let dir = root.join(SPEC_DIR);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| Error::Io(dir.clone(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let rel = format!("{SPEC_DIR}/{name}.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Io(path.clone(), e))?;
        files.push((rel.clone(), name, parse(&rel, &text)?));
    }
    validate::validate(files).map_err(Error::Spec)
}

/// Everything the specs produce, formatted, in a fixed order.
pub fn generate(root: &Path) -> Result<Vec<GeneratedFile>, Error> {
    let (abi_modules, modules): (Vec<Module>, Vec<Module>) =
        load(root)?.into_iter().partition(records::is_abi_module);
    let mut files = vec![
        GeneratedFile {
            path: format!("{WIRE_DIR}/lib.rs").into(),
            contents: emit_crate::lib(&modules),
        },
        GeneratedFile {
            path: format!("{WIRE_DIR}/dispatch.rs").into(),
            contents: emit_crate::dispatch(&modules),
        },
        GeneratedFile {
            path: format!("{WIRE_DIR}/drops.rs").into(),
            contents: emit_drops::drops(&modules),
        },
    ];
    for m in &modules {
        files.push(GeneratedFile {
            path: format!("{WIRE_DIR}/{}.rs", m.name).into(),
            contents: emit_rust::module(m) + &emit_regs::blocks(m),
        });
    }
    files.extend(emit_deku::files(&modules));
    files.extend(emit_records::files(&abi_modules));
    // One rustfmt per file, all at once: most of the time is process start-up.
    let formatted: Vec<Result<String, Error>> = std::thread::scope(|s| {
        let jobs: Vec<_> = files
            .iter()
            .map(|f| s.spawn(|| rustfmt(root, &f.contents)))
            .collect();
        jobs.into_iter()
            .map(|j| j.join().expect("rustfmt thread"))
            .collect()
    });
    for (f, text) in files.iter_mut().zip(formatted) {
        f.contents = text?;
    }
    Ok(files)
}

/// Formats Rust source with the toolchain's rustfmt (edition 2021, the
/// workspace's rustfmt.toml if any), so `cargo fmt` leaves generated files alone.
pub fn rustfmt(root: &Path, source: &str) -> Result<String, Error> {
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let mut child = Command::new(rustfmt)
        .args(["--edition", "2021", "--emit", "stdout"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Rustfmt(e.to_string()))?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(source.as_bytes())
        .map_err(|e| Error::Rustfmt(e.to_string()))?;
    let out = child
        .wait_with_output()
        .map_err(|e| Error::Rustfmt(e.to_string()))?;
    if !out.status.success() {
        return Err(Error::Rustfmt(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| Error::Rustfmt(e.to_string()))
}

/// Generated files found on disk in the generator's output folders (those
/// whose first line says `@generated by cargo xtask codegen`).
fn generated_on_disk(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in [WIRE_DIR, DEKU_DIR, "spec-tests/tests", ABI_DIR] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            if text.starts_with("// @generated by cargo xtask codegen") {
                found.push(Path::new(dir).join(e.file_name()));
            }
        }
    }
    found.sort();
    found
}

/// Regenerates every file (`check == false`) or, with `check`, fails with
/// `Error::Stale` naming each file that differs, is missing, or is left over
/// from a removed spec. Returns the files written or removed.
pub fn run(root: &Path, check: bool) -> Result<Vec<PathBuf>, Error> {
    let files = generate(root)?;
    let mut changed = Vec::new();
    for f in &files {
        let path = root.join(&f.path);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(f.contents.as_str()) {
            changed.push(f.path.clone());
            if !check {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::Io(dir.to_path_buf(), e))?;
                }
                std::fs::write(&path, &f.contents).map_err(|e| Error::Io(path.clone(), e))?;
            }
        }
    }
    for old in generated_on_disk(root) {
        if !files.iter().any(|f| f.path == old) {
            changed.push(old.clone());
            if !check {
                let path = root.join(&old);
                std::fs::remove_file(&path).map_err(|e| Error::Io(path, e))?;
            }
        }
    }
    if check && !changed.is_empty() {
        return Err(Error::Stale(changed));
    }
    Ok(changed)
}
