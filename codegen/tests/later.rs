//! DHCP and DNS (in `tests/later/`) fit the spec language as it is: they
//! validate and emit. They are not generated into `wire` yet (TCP, with its
//! options, is: `proto-defs/tcp.toml`).

use std::path::Path;

#[test]
fn dhcp_and_dns_fit_the_language() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/later");
    let files = ["dhcp", "dns"]
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
    assert_eq!(lens, [240, 12], "DHCP (to the cookie), DNS headers");
    let dns = codegen::emit_rust::module(&modules[1]);
    assert!(dns.contains("rcode / set_rcode: DnsRcode (4 bits),"));
    let dhcp = codegen::emit_rust::module(&modules[0]);
    assert!(dhcp.contains("magic_cookie / set_magic_cookie: u32 = MAGIC_COOKIE = 0x63825363;"));
}
