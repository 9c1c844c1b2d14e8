//! DHCP (in `tests/later/`) fits the spec language as it is: it validates
//! and emits. It is not generated into `wire` yet (DNS is:
//! `proto-defs/dns.toml`, its names a `[[domain_name]]`).

use std::path::Path;

#[test]
fn dhcp_fits_the_language() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/later");
    let file = "tests/later/dhcp.toml".to_string();
    let text = std::fs::read_to_string(dir.join("dhcp.toml")).unwrap();
    let files = vec![(
        file.clone(),
        "dhcp".to_string(),
        codegen::parse(&file, &text).unwrap(),
    )];
    let modules = codegen::validate::validate(files).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(modules[0].formats[0].len, 240, "DHCP, to the cookie");
    let dhcp = codegen::emit_rust::module(&modules[0]);
    assert!(dhcp.contains("magic_cookie / set_magic_cookie: u32 = MAGIC_COOKIE = 0x63825363;"));
}
