//! The contract between the kernel and everything outside it.
//!
//! Each item here is declared once and used by both sides: the kernel's
//! `syscall` table and the user library's stubs take their numbers from
//! [`syscall::Sys`], errors travel as [`Errno`], and `mkfs` writes the
//! on-disk layout the kernel's `fs` reads ([`fs`], its structures generated
//! from `proto-defs/fs_layout.toml` into [`fs_layout`]).
#![no_std]

pub mod errno;
pub mod fcntl;
pub mod fs;
pub mod fs_layout;
pub mod net;
pub mod stat;
pub mod syscall;

pub use errno::Errno;
