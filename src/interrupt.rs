//! Ctrl-C and SIGTERM (DESIGN §7): stop cleanly, exit 130 or 143.
//!
//! [`install`] starts a thread that owns both signals. On the first one:
//!
//! 1. every registered smoke process group is killed at once;
//! 2. the run is told ([`signal`], [`interrupted`]): downloads are
//!    dropped mid-flight, staging is removed as the stack unwinds, and the
//!    command ends with [`Interrupted`], which `main` turns into exit
//!    128 + the signal number;
//! 3. a run still busy after [`GRACE`] (say, deep in extracting a large
//!    archive) is ended by the thread itself, after it removed every
//!    registered staging directory.
//!
//! The commit phase (pins, installed files, the lock) is [`critical`]: a
//! signal during it is acted on once it is done, so the tree is never left
//! half old, half new by a Ctrl-C. A run with nothing registered exits at
//! once. A second signal during the grace period ends the run at once,
//! except inside the commit phase. SIGKILL cannot be caught; its leftovers
//! are removed by the next run ([`crate::tidy`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// How long a signalled run may take to unwind by itself.
pub const GRACE: Duration = Duration::from_secs(3);

static SIGNAL: AtomicI32 = AtomicI32::new(0);
static NOTIFY: tokio::sync::Notify = tokio::sync::Notify::const_new();
static STATE: Mutex<State> = Mutex::new(State {
    dirs: Vec::new(),
    prefixed: Vec::new(),
    groups: Vec::new(),
    critical: 0,
    left_critical: None,
});

struct State {
    /// Staging directories to remove if the run must be ended.
    dirs: Vec<PathBuf>,
    /// Directories whose files named with a prefix are this process's
    /// temporary files (downloads in flight), removed on a forced end.
    prefixed: Vec<(PathBuf, String)>,
    /// Process groups of running smoke commands.
    groups: Vec<i32>,
    /// Nesting depth of critical sections.
    critical: usize,
    /// When the last critical section ended: the run gets its grace
    /// period again from there, to report.
    left_critical: Option<Instant>,
}

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The run was stopped by a signal.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("interrupted by {}{}", signal_name(*signal), if *committed { "; the changes had been applied in full" } else { "; nothing was changed" })]
#[diagnostic(code(vendor::interrupted))]
pub struct Interrupted {
    pub signal: i32,
    /// The commit phase had finished when the signal was acted on.
    pub committed: bool,
}

impl Interrupted {
    /// The conventional exit status: 128 + the signal number.
    pub fn exit_code(&self) -> u8 {
        u8::try_from(128 + self.signal).unwrap_or(130)
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        2 => "SIGINT (Ctrl-C)",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// The signal received, if any.
pub fn signal() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// `Err` once a signal arrived: for the points where a run may stop.
pub fn check() -> Result<(), Interrupted> {
    match signal() {
        Some(signal) => Err(Interrupted {
            signal,
            committed: false,
        }),
        None => Ok(()),
    }
}

/// Resolves when a signal arrives.
pub async fn interrupted() -> Interrupted {
    loop {
        let notified = NOTIFY.notified();
        if let Some(signal) = signal() {
            return Interrupted {
                signal,
                committed: false,
            };
        }
        notified.await;
    }
}

/// A staging directory removed by the signal thread if the run has to be
/// ended before it unwinds; unregistered on drop.
pub struct StagingGuard(PathBuf);

/// Registers `dir` for removal on a forced end.
pub fn remove_on_abort(dir: &Path) -> StagingGuard {
    state().dirs.push(dir.to_path_buf());
    StagingGuard(dir.to_path_buf())
}

impl Drop for StagingGuard {
    fn drop(&mut self) {
        state().dirs.retain(|d| *d != self.0);
    }
}

/// Files in `dir` whose names start with `prefix` are removed if the run
/// has to be ended before it unwinds (the cache's downloads in flight,
/// named with this process's id).
pub fn remove_prefixed_on_abort(dir: &Path, prefix: &str) {
    let mut s = state();
    let entry = (dir.to_path_buf(), prefix.to_owned());
    if !s.prefixed.contains(&entry) {
        s.prefixed.push(entry);
    }
}

/// A process group killed at once on a signal; unregistered on drop.
pub struct GroupGuard(i32);

/// Registers the process group `pgid` (a smoke command's).
pub fn kill_on_signal(pgid: i32) -> GroupGuard {
    state().groups.push(pgid);
    // Spawned just as a signal came: kill it now.
    if signal().is_some() {
        kill_group(pgid);
    }
    GroupGuard(pgid)
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        state().groups.retain(|g| *g != self.0);
    }
}

/// Runs `f` to its end even if a signal arrives meanwhile.
pub fn critical<T>(f: impl FnOnce() -> T) -> T {
    state().critical += 1;
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            let mut s = state();
            s.critical = s.critical.saturating_sub(1);
            s.left_critical = Some(Instant::now());
        }
    }
    let _leave = Leave;
    f()
}

/// Starts the signal thread (once, from `main`). Without it, signals keep
/// their default action.
pub fn install() {
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(|| {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(listen());
        });
    let _ = spawned;
}

#[cfg(unix)]
async fn listen() {
    use tokio::signal::unix::{SignalKind, signal as stream};
    let (Ok(mut int), Ok(mut term)) = (
        stream(SignalKind::interrupt()),
        stream(SignalKind::terminate()),
    ) else {
        return;
    };
    let first = tokio::select! {
        _ = int.recv() => 2,
        _ = term.recv() => 15,
    };
    SIGNAL.store(first, Ordering::SeqCst);
    for pgid in state().groups.clone() {
        kill_group(pgid);
    }
    NOTIFY.notify_waiters();
    let start = Instant::now();
    loop {
        let (busy, critical, since) = {
            let s = state();
            let since = s.left_critical.map_or(start, |t| t.max(start));
            (!s.dirs.is_empty(), s.critical > 0, since)
        };
        let deadline = since + GRACE;
        // A run with nothing to clean gets a moment to print its message.
        let idle_until = since + Duration::from_millis(200);
        let now = Instant::now();
        if !critical && (now >= deadline || (!busy && now >= idle_until)) {
            abort(first);
        }
        tokio::select! {
            _ = int.recv() => if !critical { abort(first) },
            _ = term.recv() => if !critical { abort(first) },
            () = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
    }
}

#[cfg(not(unix))]
async fn listen() {
    if tokio::signal::ctrl_c().await.is_ok() {
        SIGNAL.store(2, Ordering::SeqCst);
        NOTIFY.notify_waiters();
        tokio::time::sleep(GRACE).await;
        abort(2);
    }
}

/// Ends the run: staging removed, smoke groups killed, exit 128 + signal.
fn abort(signal: i32) -> ! {
    let (dirs, prefixed) = {
        let mut s = state();
        (std::mem::take(&mut s.dirs), std::mem::take(&mut s.prefixed))
    };
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    for (dir, prefix) in prefixed {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    for pgid in state().groups.clone() {
        kill_group(pgid);
    }
    std::process::exit(128 + signal)
}

fn kill_group(pgid: i32) {
    #[cfg(unix)]
    if let Some(pid) = rustix::process::Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    #[cfg(not(unix))]
    let _ = pgid;
}
