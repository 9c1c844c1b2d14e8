//! sh: the shell. Commands separated by `;` run in turn, a trailing `&`
//! runs a command list in the background, `|` connects commands by pipes,
//! `< file`, `> file` and `>> file` redirect. Words may be quoted with ' or
//! ", `#` starts a comment. Built in: `cd dir` and `exit`. Line editing is
//! the console's. `sh file` reads commands from a file.
//!
//! Interactive, the shell runs each job in a process group of its own and
//! makes a foreground job the console's foreground group while it runs,
//! so ^C kills that job (every process of its pipeline) and neither the
//! shell nor background jobs. ^C at the prompt ends the console read with
//! EINTR: the shell drops the line and prompts again.
#![no_std]
#![no_main]

extern crate alloc;
use abi::fcntl::{O_CREATE, O_RDONLY, O_TRUNC, O_WRONLY};
use abi::Errno;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use ulib::sys::{self, Fd};

ulib::entry!(main);

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Pipe,
    In,
    Out,
    Append,
    Seq,
    Back,
}

#[derive(Default)]
struct Cmd {
    argv: Vec<String>,
    input: Option<String>,
    output: Option<(String, bool)>, // (file, append)
}

struct Job {
    cmds: Vec<Cmd>,
    background: bool,
}

fn lex(line: &str) -> Result<Vec<Tok>, &'static str> {
    let mut toks = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                chars.next();
            }
            '#' => break,
            '|' | '<' | ';' | '&' => {
                chars.next();
                toks.push(match c {
                    '|' => Tok::Pipe,
                    '<' => Tok::In,
                    ';' => Tok::Seq,
                    _ => Tok::Back,
                });
            }
            '>' => {
                chars.next();
                if chars.peek() == Some(&'>') {
                    chars.next();
                    toks.push(Tok::Append);
                } else {
                    toks.push(Tok::Out);
                }
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    match c {
                        ' ' | '\t' | '\r' | '\n' | '|' | '<' | '>' | ';' | '&' => break,
                        '\'' | '"' => {
                            chars.next();
                            loop {
                                match chars.next() {
                                    Some(q) if q == c => break,
                                    Some(x) => w.push(x),
                                    None => return Err("unterminated quote"),
                                }
                            }
                        }
                        _ => {
                            w.push(c);
                            chars.next();
                        }
                    }
                }
                toks.push(Tok::Word(w));
            }
        }
    }
    Ok(toks)
}

fn parse(toks: Vec<Tok>) -> Result<Vec<Job>, &'static str> {
    let mut jobs = Vec::new();
    let mut cmds: Vec<Cmd> = Vec::new();
    let mut cmd = Cmd::default();
    let mut it = toks.into_iter();
    let end_cmd = |cmd: &mut Cmd, cmds: &mut Vec<Cmd>| -> Result<(), &'static str> {
        let c = core::mem::take(cmd);
        if c.argv.is_empty() {
            if c.input.is_some() || c.output.is_some() {
                return Err("missing command");
            }
            return if cmds.is_empty() {
                Ok(())
            } else {
                Err("missing command after |")
            };
        }
        cmds.push(c);
        Ok(())
    };
    while let Some(t) = it.next() {
        match t {
            Tok::Word(w) => cmd.argv.push(w),
            Tok::In | Tok::Out | Tok::Append => {
                let Some(Tok::Word(f)) = it.next() else {
                    return Err("missing file for redirection");
                };
                match t {
                    Tok::In => cmd.input = Some(f),
                    Tok::Out => cmd.output = Some((f, false)),
                    _ => cmd.output = Some((f, true)),
                }
            }
            Tok::Pipe => {
                if cmd.argv.is_empty() {
                    return Err("missing command before |");
                }
                end_cmd(&mut cmd, &mut cmds)?;
            }
            Tok::Seq | Tok::Back => {
                end_cmd(&mut cmd, &mut cmds)?;
                if !cmds.is_empty() {
                    jobs.push(Job {
                        cmds: core::mem::take(&mut cmds),
                        background: t == Tok::Back,
                    });
                }
            }
        }
    }
    end_cmd(&mut cmd, &mut cmds)?;
    if !cmds.is_empty() {
        jobs.push(Job {
            cmds,
            background: false,
        });
    }
    Ok(jobs)
}

/// Makes `fd` become `target` (0 or 1).
fn move_fd(fd: Fd, target: Fd) {
    if fd != target {
        let _ = sys::close(target);
        let _ = sys::dup(fd);
        let _ = sys::close(fd);
    }
}

/// Runs one command in this (child) process: redirect, then exec.
fn run_cmd(cmd: &Cmd) -> ! {
    if let Some(f) = &cmd.input {
        match sys::open(f, O_RDONLY) {
            Ok(fd) => move_fd(fd, 0),
            Err(e) => ulib::die("sh", f, e),
        }
    }
    if let Some((f, append)) = &cmd.output {
        let flags = if *append {
            O_WRONLY | O_CREATE
        } else {
            O_WRONLY | O_CREATE | O_TRUNC
        };
        match sys::open(f, flags) {
            Ok(fd) => {
                if *append {
                    // No O_APPEND in xv6: read to the end to move the offset there.
                    let _ = sys::close(fd);
                    if let Ok(rfd) = sys::open(f, abi::fcntl::O_RDWR) {
                        let mut b = [0u8; 512];
                        while let Ok(n) = sys::read(rfd, &mut b) {
                            if n == 0 {
                                break;
                            }
                        }
                        move_fd(rfd, 1);
                    }
                } else {
                    move_fd(fd, 1);
                }
            }
            Err(e) => ulib::die("sh", f, e),
        }
    }
    let argv: Vec<&str> = cmd.argv.iter().map(|s| s.as_str()).collect();
    let name = argv[0];
    let mut e = sys::exec(name, &argv);
    if e == Errno::ENOENT && !name.contains('/') {
        e = sys::exec(&format!("/{name}"), &argv);
    }
    ulib::eprintln!("sh: {}: {}", name, e.message());
    sys::exit(127)
}

/// Runs a pipeline in this (child) process and exits with the last status.
fn run_pipeline(cmds: &[Cmd]) -> ! {
    if cmds.len() == 1 {
        run_cmd(&cmds[0]);
    }
    let mut prev: Option<Fd> = None;
    let mut last = 0;
    for (i, cmd) in cmds.iter().enumerate() {
        let p = if i + 1 < cmds.len() {
            match sys::pipe() {
                Ok(p) => Some(p),
                Err(e) => ulib::die("sh", "pipe", e),
            }
        } else {
            None
        };
        match sys::fork() {
            Ok(0) => {
                if let Some(r) = prev {
                    move_fd(r, 0);
                }
                if let Some([r, w]) = p {
                    let _ = sys::close(r);
                    move_fd(w, 1);
                }
                run_cmd(cmd);
            }
            Ok(pid) => last = pid,
            Err(e) => ulib::die("sh", "fork", e),
        }
        if let Some(r) = prev.take() {
            let _ = sys::close(r);
        }
        if let Some([r, w]) = p {
            let _ = sys::close(w);
            prev = Some(r);
        }
    }
    let mut status = 0;
    while let Ok((pid, st)) = sys::wait() {
        if pid == last {
            status = st;
        }
    }
    sys::exit(status)
}

/// Puts the calling job process in a group of its own (job control only).
fn own_group(job_control: bool) {
    if job_control {
        let _ = sys::setpgid(0, 0);
    }
}

fn run_job(job: &Job, job_control: bool) {
    let first = &job.cmds[0];
    if job.cmds.len() == 1 && !job.background {
        match first.argv[0].as_str() {
            "cd" => {
                let dir = first.argv.get(1).map(|s| s.as_str()).unwrap_or("/");
                if let Err(e) = sys::chdir(dir) {
                    ulib::eprintln!("cd: {}: {}", dir, e.message());
                }
                return;
            }
            "exit" => sys::exit(first.argv.get(1).and_then(|s| s.parse().ok()).unwrap_or(0)),
            _ => {}
        }
    }
    match sys::fork() {
        Ok(0) => {
            own_group(job_control);
            if job.background {
                // Run in a grandchild that init will reap; return at once.
                match sys::fork() {
                    Ok(0) => run_pipeline(&job.cmds),
                    Ok(pid) => {
                        ulib::eprintln!("[{}]", pid);
                        sys::exit(0)
                    }
                    Err(e) => ulib::die("sh", "fork", e),
                }
            }
            run_pipeline(&job.cmds)
        }
        Ok(pid) => {
            // Both sides set the group, so it is set whichever runs first.
            let foreground = job_control && !job.background;
            if job_control {
                let _ = sys::setpgid(pid, pid);
            }
            if foreground {
                let _ = sys::tcsetpgrp(sys::STDIN, pid);
            }
            // Wait for this child; other exits (none expected) are reaped too.
            while let Ok((w, _)) = sys::wait() {
                if w == pid {
                    break;
                }
            }
            if foreground {
                let _ = sys::tcsetpgrp(sys::STDIN, 0);
            }
        }
        Err(e) => {
            ulib::fail("sh", "fork", e);
        }
    }
}

enum Input {
    Line(String),
    /// ^C: the line typed so far is void.
    Interrupted,
    End,
}

/// Reads one line (byte by byte, so a child can read what follows).
fn getline(fd: Fd) -> Input {
    let mut line = Vec::new();
    let mut c = [0u8];
    loop {
        match sys::read(fd, &mut c) {
            Ok(1) => {
                if c[0] == b'\n' {
                    break;
                }
                line.push(c[0]);
            }
            Err(Errno::EINTR) => return Input::Interrupted,
            _ => {
                if line.is_empty() {
                    return Input::End;
                }
                break;
            }
        }
    }
    Input::Line(String::from(String::from_utf8_lossy(&line)))
}

fn main(args: &[&str]) -> i32 {
    let interactive = args.len() < 2;
    if let Some(path) = args.get(1) {
        match sys::open(path, O_RDONLY) {
            Ok(fd) => move_fd(fd, 0),
            Err(e) => return ulib::fail("sh", path, e),
        }
    }
    if interactive {
        own_group(true);
    }
    loop {
        if interactive {
            ulib::eprint!("$ ");
        }
        let line = match getline(sys::STDIN) {
            Input::Line(line) => line,
            Input::Interrupted => continue,
            Input::End => return 0,
        };
        let jobs = match lex(&line).and_then(parse) {
            Ok(jobs) => jobs,
            Err(msg) => {
                ulib::eprintln!("sh: {}", msg);
                continue;
            }
        };
        for job in &jobs {
            run_job(job, interactive);
        }
    }
}
