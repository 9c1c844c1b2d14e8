//! Error numbers, returned negated in a0. Values follow Linux so tools
//! and readers recognise them.

macro_rules! errnos {
    ($($name:ident = $num:expr, $msg:expr;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(i32)]
        pub enum Errno { $($name = $num,)* }

        impl Errno {
            pub fn from_num(n: i32) -> Option<Errno> {
                match n { $($num => Some(Errno::$name),)* _ => None }
            }
            /// A readable message, as strerror(3) gives.
            pub fn message(self) -> &'static str {
                match self { $(Errno::$name => $msg,)* }
            }
        }
    };
}

errnos! {
    EPERM = 1, "operation not permitted";
    ENOENT = 2, "no such file or directory";
    ESRCH = 3, "no such process";
    EINTR = 4, "interrupted";
    EIO = 5, "i/o error";
    E2BIG = 7, "argument list too long";
    ENOEXEC = 8, "exec format error";
    EBADF = 9, "bad file descriptor";
    ECHILD = 10, "no child processes";
    EAGAIN = 11, "resource temporarily unavailable";
    ENOMEM = 12, "out of memory";
    EFAULT = 14, "bad address";
    EEXIST = 17, "file exists";
    EXDEV = 18, "cross-device link";
    ENODEV = 19, "no such device";
    ENOTDIR = 20, "not a directory";
    EISDIR = 21, "is a directory";
    EINVAL = 22, "invalid argument";
    ENFILE = 23, "file table overflow";
    EMFILE = 24, "too many open files";
    ENOTTY = 25, "not a terminal";
    EFBIG = 27, "file too large";
    ENOSPC = 28, "no space left on device";
    ESPIPE = 29, "illegal seek";
    EPIPE = 32, "broken pipe";
    ERANGE = 34, "result out of range";
    ENAMETOOLONG = 36, "file name too long";
    ENOSYS = 38, "function not implemented";
    ENOTEMPTY = 39, "directory not empty";
    ENOTSOCK = 88, "socket operation on non-socket";
    EDESTADDRREQ = 89, "destination address required";
    EMSGSIZE = 90, "message too long";
    EPROTOTYPE = 91, "protocol wrong type for socket";
    ENOPROTOOPT = 92, "protocol not available";
    EPROTONOSUPPORT = 93, "protocol not supported";
    EOPNOTSUPP = 95, "operation not supported";
    EAFNOSUPPORT = 97, "address family not supported";
    EADDRINUSE = 98, "address already in use";
    EADDRNOTAVAIL = 99, "cannot assign requested address";
    ENETUNREACH = 101, "network is unreachable";
    ECONNABORTED = 103, "connection aborted";
    ECONNRESET = 104, "connection reset by peer";
    ENOBUFS = 105, "no buffer space available";
    EISCONN = 106, "socket is already connected";
    ENOTCONN = 107, "socket is not connected";
    ETIMEDOUT = 110, "timed out";
    ECONNREFUSED = 111, "connection refused";
    EHOSTUNREACH = 113, "no route to host";
    EALREADY = 114, "operation already in progress";
    EINPROGRESS = 115, "operation now in progress";
}

impl Errno {
    /// How a system call returns this error in a0.
    pub const fn as_ret(self) -> isize {
        -(self as i32 as isize)
    }

    /// Splits a raw system-call return into a value or an error.
    pub fn check(ret: isize) -> Result<usize, Errno> {
        if ret >= 0 {
            Ok(ret as usize)
        } else {
            Err(Errno::from_num((-ret) as i32).unwrap_or(Errno::EINVAL))
        }
    }
}
