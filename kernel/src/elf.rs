//! ELF-64 file format: just what exec needs (file header, program headers).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// "\x7FELF" in little endian.
pub const ELF_MAGIC: u32 = 0x464C_457F;
pub const ELFCLASS64: u8 = 2;
pub const EM_RISCV: u16 = 243;

/// File header.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Default, Debug)]
#[repr(C)]
pub struct ElfHdr {
    pub magic: u32,
    /// class, data, version, osabi, abiversion, padding.
    pub elf: [u8; 12],
    pub typ: u16,
    pub machine: u16,
    pub version: u32,
    pub entry: u64,
    pub phoff: u64,
    pub shoff: u64,
    pub flags: u32,
    pub ehsize: u16,
    pub phentsize: u16,
    pub phnum: u16,
    pub shentsize: u16,
    pub shnum: u16,
    pub shstrndx: u16,
}

/// Program section header.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Default, Debug)]
#[repr(C)]
pub struct ProgHdr {
    pub typ: u32,
    pub flags: u32,
    pub off: u64,
    pub vaddr: u64,
    pub paddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

/// Values for ProgHdr typ.
pub const ELF_PROG_LOAD: u32 = 1;

/// Flag bits for ProgHdr flags.
pub const ELF_PROG_FLAG_EXEC: u32 = 1;
pub const ELF_PROG_FLAG_WRITE: u32 = 2;
pub const ELF_PROG_FLAG_READ: u32 = 4;
