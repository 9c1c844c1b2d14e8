//! Links every user program with user.ld (at 0x1000, page 0 left unmapped)
//! and strips symbols and debug info, which the release profile keeps: the
//! programs stay small on the xv6 disk.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rustc-link-arg-bins=-T{dir}/user.ld");
    println!("cargo:rustc-link-arg-bins=--strip-all");
    println!("cargo:rerun-if-changed=user.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
