//! `run(root, check)` on a scratch copy of `proto-defs/`: a spec edit makes
//! the check fail naming the stale file, regenerating fixes it, and a removed
//! spec leaves a generated file the check names too.

use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("codegen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let specs = root.join(codegen::SPEC_DIR);
    std::fs::create_dir_all(&specs).unwrap();
    let real = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(codegen::SPEC_DIR);
    for e in std::fs::read_dir(real).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), specs.join(e.file_name())).unwrap();
    }
    root
}

fn stale(root: &Path) -> Vec<PathBuf> {
    match codegen::run(root, true) {
        Ok(_) => Vec::new(),
        Err(codegen::Error::Stale(paths)) => paths,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn check_names_the_stale_file_and_run_fixes_it() {
    let root = scratch("stale");
    assert!(!stale(&root).is_empty(), "nothing generated yet");
    codegen::run(&root, false).unwrap();
    assert_eq!(stale(&root), Vec::<PathBuf>::new());

    let udp = root.join("proto-defs/udp.toml");
    let text = std::fs::read_to_string(&udp).unwrap();
    std::fs::write(
        &udp,
        text.replace("Destination port.", "Destination port (edited)."),
    )
    .unwrap();
    let names = stale(&root);
    assert!(
        names.contains(&PathBuf::from("kernel/wire/src/udp.rs")),
        "{names:?}"
    );
    let err = codegen::run(&root, true).unwrap_err().to_string();
    assert!(err.contains("kernel/wire/src/udp.rs"), "{err}");

    codegen::run(&root, false).unwrap();
    assert_eq!(stale(&root), Vec::<PathBuf>::new());

    std::fs::remove_file(root.join("proto-defs/virtio_blk.toml")).unwrap();
    assert!(stale(&root).contains(&PathBuf::from("kernel/wire/src/virtio_blk.rs")));
    codegen::run(&root, false).unwrap();
    assert!(!root.join("kernel/wire/src/virtio_blk.rs").exists());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn generation_is_deterministic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    assert_eq!(
        codegen::generate(&root).unwrap(),
        codegen::generate(&root).unwrap()
    );
}

#[test]
fn records_go_to_abi_and_are_checked_there() {
    let root = scratch("abi");
    codegen::run(&root, false).unwrap();
    let layout = PathBuf::from("kernel/abi/src/fs_layout.rs");
    assert!(root.join(&layout).exists());
    assert!(!root.join("kernel/wire/src/fs_layout.rs").exists());
    let wire_lib = std::fs::read_to_string(root.join("kernel/wire/src/lib.rs")).unwrap();
    assert!(!wire_lib.contains("fs_layout"), "{wire_lib}");

    let spec = root.join("proto-defs/fs_layout.toml");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, text.replace("Number of inodes.", "Inodes.")).unwrap();
    assert_eq!(stale(&root), vec![layout.clone()]);
    std::fs::remove_file(&spec).unwrap();
    assert!(stale(&root).contains(&layout));
    codegen::run(&root, false).unwrap();
    assert!(!root.join(&layout).exists());
    std::fs::remove_dir_all(&root).unwrap();
}
