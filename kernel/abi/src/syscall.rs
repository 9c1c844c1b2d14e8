//! System call numbers. Arguments go in a0..a5, the number in a7; the
//! result comes back in a0: a value >= 0 on success, or `-(errno)`.

macro_rules! syscalls {
    ($($(#[$doc:meta])* $name:ident = $num:expr,)*) => {
        /// Every system call the kernel implements.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Sys { $($(#[$doc])* $name = $num,)* }

        impl Sys {
            /// All system calls, for tables and stub generators.
            pub const ALL: &'static [Sys] = &[$(Sys::$name,)*];

            pub fn from_num(n: usize) -> Option<Sys> {
                match n { $($num => Some(Sys::$name),)* _ => None }
            }
        }
    };
}

syscalls! {
    // The xv6 system calls, with xv6's numbers.
    Fork = 1,
    Exit = 2,
    Wait = 3,
    Pipe = 4,
    Read = 5,
    Kill = 6,
    Exec = 7,
    Fstat = 8,
    Chdir = 9,
    Dup = 10,
    Getpid = 11,
    Sbrk = 12,
    Sleep = 13,
    Uptime = 14,
    Open = 15,
    Write = 16,
    Mknod = 17,
    Unlink = 18,
    Link = 19,
    Mkdir = 20,
    Close = 21,
    // Kernel facts for tests and tools.
    Halt = 22,
    /// sysinfo(&mut SysInfo): free pages and other counters.
    Sysinfo = 23,
    // Process groups and the console's foreground job (for ^C).
    /// setpgid(pid or 0 for the caller, pgid or 0 for pid): move the
    /// caller or one of its children into a process group.
    Setpgid = 24,
    /// tcsetpgrp(console fd, pgid or 0 for none): the group ^C kills.
    Tcsetpgrp = 25,
    // BSD-style sockets (see `net`).
    Socket = 30,
    Bind = 31,
    Connect = 32,
    Sendto = 33,
    Recvfrom = 34,
    Getsockname = 35,
    Setsockopt = 36,
    /// netstat(fd_or_-1, &mut NetStats): stack counters.
    Netstat = 37,
    /// ifconfig(&mut IfConfig, op): get, set static, or start DHCP
    /// (`net::IFCONFIG_*`).
    Ifconfig = 38,
    /// arp(op, ip, &mut [ArpEntry]) : list or resolve.
    Arp = 39,
    /// socklist(&mut [SockInfo]) -> count
    Socklist = 40,
    /// listen(fd, backlog): a bound SOCK_STREAM socket accepts connections.
    Listen = 41,
    /// accept(fd, &mut SockAddrIn or null, &mut u32 len or null) -> new fd
    Accept = 42,
    /// shutdown(fd, SHUT_RD | SHUT_WR | SHUT_RDWR)
    Shutdown = 43,
    /// poll(&mut [PollFd], nfds, timeout_ms or -1) -> descriptors ready
    Poll = 44,
    /// getpeername(fd, &mut SockAddrIn, &mut u32 len)
    Getpeername = 45,
    /// sendmmsg(fd, &mut [MMsg], n, flags) -> datagrams sent: up to
    /// `MAX_MMSG` datagrams in one call, each `sent` filled in.
    Sendmmsg = 46,
    // Containers (see the kernel's `ns.rs`).
    /// spawn(root dir path, &mut u32 namespace out, &[PublishedPort], n)
    /// -> pid: fork into a new namespace whose file-system root is that
    /// directory, publishing its `n` ports (at most `MAX_PUBLISHED`) on
    /// the host's address; 0 in the child.
    Spawn = 50,
    /// procinfo(&mut [ProcInfo], n) -> count: the processes the caller's
    /// namespace sees.
    Procinfo = 51,
    /// attach(namespace): give the console to a container until it exits
    /// or ^] is typed; only from the root namespace.
    Attach = 52,
}

/// What `sysinfo` reports.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct SysInfo {
    pub free_pages: u64,
    pub total_pages: u64,
    pub nproc: u64,
    pub uptime_ticks: u64,
    /// Free blocks on the root file system.
    pub free_blocks: u64,
    /// In-memory inodes referenced (open files, cwds, container roots).
    pub inodes: u64,
    /// Namespaces in use, the root one included.
    pub namespaces: u64,
}

/// The root namespace: the host, which sees every process.
pub const ROOT_NS: u32 = 0;

/// One process as `procinfo` shows it to the caller's namespace.
#[derive(
    Clone, Copy, Debug, Default, zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::Immutable,
)]
#[repr(C)]
pub struct ProcInfo {
    /// The pid as the caller sees it (the global pid in the root namespace).
    pub pid: i32,
    /// The parent's pid as the caller sees it; 0 if the caller cannot see it.
    pub ppid: i32,
    /// The namespace the process lives in (`ROOT_NS` for the host).
    pub ns: u32,
    /// The pid inside its own namespace (1 for a container's first process).
    pub nspid: i32,
    /// Process group, numbered in the process's own namespace.
    pub pgid: i32,
    /// One of the `PROC_*` states.
    pub state: u32,
    /// NUL-padded program name.
    pub name: [u8; 16],
}

pub const PROC_USED: u32 = 1;
pub const PROC_SLEEPING: u32 = 2;
pub const PROC_RUNNABLE: u32 = 3;
pub const PROC_RUNNING: u32 = 4;
pub const PROC_ZOMBIE: u32 = 5;

/// The console key that gives the console back to the root namespace
/// while it is attached to a container (^], as telnet's escape).
pub const DETACH_KEY: u8 = 0x1d;

/// Timer interrupts per second: `sleep` and `uptime` count these ticks.
pub const TICK_HZ: u64 = 100;
