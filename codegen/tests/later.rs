//! TCP, DHCP and DNS (in `tests/later/`) fit the spec language as it is: they
//! validate and emit. They are not generated into `wire` yet.

use std::path::Path;

#[test]
fn tcp_dhcp_and_dns_fit_the_language() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/later");
    let files = ["tcp", "dhcp", "dns"]
        .into_iter()
        .map(|m| {
            let file = format!("tests/later/{m}.toml");
            let text = std::fs::read_to_string(dir.join(format!("{m}.toml"))).unwrap();
            (
                file.clone(),
                m.to_string(),
                codegen::parse(&file, &text).unwrap(),
            )
        })
        .collect();
    let modules = codegen::validate::validate(files).unwrap_or_else(|e| panic!("{e:#?}"));
    let lens: Vec<usize> = modules.iter().map(|m| m.formats[0].len).collect();
    assert_eq!(
        lens,
        [20, 240, 12],
        "TCP, DHCP (to the cookie), DNS headers"
    );
    let tcp = codegen::emit_rust::module(&modules[0]);
    for expected in [
        "pub fn data_offset_bytes(&self) -> usize",
        "pub fn syn(&self) -> bool",
        "pub fn checksum_ok(src: [u8; 4]",
    ] {
        assert!(tcp.contains(expected), "{expected}");
    }
    let dns = codegen::emit_rust::module(&modules[2]);
    assert!(dns.contains("pub fn rcode(&self) -> DnsRcode"));
    let dhcp = codegen::emit_rust::module(&modules[1]);
    assert!(dhcp.contains("pub const MAGIC_COOKIE: u32 = 0x63825363;"));
}
