//! halt: powers the machine off (QEMU exits). `halt [code]`, default 0.
#![no_std]
#![no_main]

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let code = match args.get(1) {
        None => 0,
        Some(a) => match a.parse::<u16>() {
            Ok(c) => c,
            Err(_) => {
                ulib::eprintln!("usage: halt [code]");
                return 1;
            }
        },
    };
    let e = ulib::sys::halt(code);
    ulib::fail("halt", "halt", e)
}
