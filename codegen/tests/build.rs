//! The builders and the reverse dispatch follow the declarations: what a
//! builder fills is exactly what the spec computes, a new `next_layer`
//! entry is sent under its key and grows the header chain (TCP, declared in
//! `proto-defs/tcp.toml` but not yet carried by IPv4), and a layer that
//! carries itself does not loop.

use std::path::{Path, PathBuf};

use codegen::{emit_crate, emit_rust, Module};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The real specs, with `edit` applied to each file's text, plus `extra`
/// modules given as (name, text).
fn load(edit: impl Fn(&str, String) -> String, extra: &[(&str, String)]) -> Vec<Module> {
    let dir = root().join(codegen::SPEC_DIR);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "toml")
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    let mut files: Vec<(String, String, codegen::spec::SpecFile)> = names
        .iter()
        .map(|m| {
            let file = format!("proto-defs/{m}.toml");
            let text = std::fs::read_to_string(dir.join(format!("{m}.toml"))).unwrap();
            let spec = codegen::parse(&file, &edit(m, text)).unwrap();
            (file, m.clone(), spec)
        })
        .collect();
    for (m, text) in extra {
        let file = format!("tests/{m}.toml");
        files.push((
            file.clone(),
            m.to_string(),
            codegen::parse(&file, text).unwrap(),
        ));
    }
    codegen::validate::validate(files).unwrap_or_else(|e| panic!("{e:#?}"))
}

fn module<'a>(modules: &'a [Module], name: &str) -> &'a Module {
    modules.iter().find(|m| m.name == name).unwrap()
}

#[test]
fn builders_fill_what_the_spec_computes() {
    let modules = load(|_, t| t, &[]);
    let ipv4 = emit_rust::module(module(&modules, "ipv4"));
    assert!(ipv4.contains("fills in `version`, `ihl`, `total_length`, `header_checksum`."));
    assert!(ipv4.contains("pub const MAX_LEN: usize = 60;"));
    let repr = ipv4
        .split("pub struct Ipv4HeaderRepr for Ipv4Header {")
        .nth(1)
        .unwrap();
    let repr = repr.split_once('}').unwrap().0;
    for chosen in [
        "pub dscp: u8",
        "pub protocol: IpProtocol",
        "pub dst: [u8; 4]",
    ] {
        assert!(repr.contains(chosen), "{chosen}");
    }
    for filled in ["version", "ihl", "total_length", "header_checksum"] {
        assert!(!repr.contains(&format!("pub {filled}:")), "{filled}");
    }
    // A header with options takes their length: its header-length field
    // counts them, a checksum over the header covers them.
    let tcp = emit_rust::module(module(&modules, "tcp"));
    assert!(tcp.contains("impl crate::EmitOptions for TcpHeaderRepr"));
    assert!(tcp.contains("crate::emit::length(\"data_offset\", header_len, 4, 0xf)?"));
    assert!(ipv4.contains("fill_checksum(&mut message[..header_len]);"));
    let udp = emit_rust::module(module(&modules, "udp"));
    assert!(udp.contains("type Context = crate::emit::Ipv4PseudoHeader;"));
    // A datagram sent in pieces: its length and checksum count the tail.
    assert!(udp.contains("let len = message.len() + cx.tail.len;"));
    assert!(udp.contains("fill_checksum_with_tail(cx.src, cx.dst, message, cx.tail);"));
    assert!(udp.contains("pub fn parse_pieces<"));
    let arp = emit_rust::module(module(&modules, "arp"));
    // ARP's builder only stores values: `builder!` sets the fixed ones.
    let builder = arp
        .split("pub struct ArpPacketRepr for ArpPacket: Emit {")
        .nth(1)
        .unwrap();
    assert!(builder.contains("fixed {\n        htype / set_htype = HTYPE,"));
}

#[test]
fn a_new_layer_is_sent_under_its_key_and_grows_the_chain() {
    let without_tcp = |m: &str, text: String| {
        if m == "ipv4" {
            text.replace("TCP = \"tcp\", ", "")
        } else {
            text
        }
    };
    let before = emit_crate::dispatch(&load(without_tcp, &[]));
    assert!(!before.contains("TcpHeader"));
    let after = emit_crate::dispatch(&load(|_, t| t, &[]));
    assert!(after.contains("Ipv4Next::Tcp => IpProtocol::TCP,"));
    assert!(after.contains("crate::tcp::TcpHeader::MAX_LEN"), "{after}");
}

#[test]
fn a_layer_that_carries_itself_does_not_loop() {
    let spec = |key: &str, next: &str| {
        format!(
            "title = \"t\"\nreference = \"r\"\nurl = \"u\"\nbyte_order = \"network\"\n\
             [[key]]\nname = \"{key}\"\nbits = 8\ndoc = \"d\"\nvalues = [{{ name = \"NEXT\", value = 1, doc = \"d\" }}]\n\
             [[format]]\nname = \"{}Header\"\ndoc = \"d\"\n\
             [[format.field]]\nname = \"kind\"\nbits = 8\nkey = \"{key}\"\nnext_layer = {{ NEXT = \"{next}\" }}\ndoc = \"d\"\n",
            key.trim_end_matches("Kind")
        )
    };
    let modules = load(
        |_, t| t,
        &[
            ("loopa", spec("LoopaKind", "loopb")),
            ("loopb", spec("LoopbKind", "loopa")),
            ("outer", spec("OuterKind", "loopa")),
        ],
    );
    let out = emit_crate::dispatch(&modules);
    let chain = out
        .split("pub const OUTER_MAX_HEADERS: usize = ")
        .nth(1)
        .unwrap();
    let chain = chain.split_once(';').unwrap().0;
    assert_eq!(
        chain,
        "crate::outer::OuterHeader::LEN + crate::loopa::LoopaHeader::LEN + crate::loopb::LoopbHeader::LEN"
    );
    assert!(
        !out.contains("LOOPA_MAX_HEADERS"),
        "a carried layer starts no chain"
    );
}
