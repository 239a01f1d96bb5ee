//! A thread's own CPU priority (Linux keeps a nice value per thread, and threads it starts
//! inherit it): the media pacing threads go above the rest of the process, the gateway's speech
//! recogniser below it.

/// Moves the calling thread's nice value by `steps` (positive: lower priority; negative: higher,
/// which needs root or CAP_SYS_NICE), within Linux's -20..=19. Failing to is not an error: the
/// thread then keeps the priority it has, and the reason is logged at debug level.
pub fn shift(steps: i32) {
    if steps == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid, getpriority and setpriority take plain integers and touch no memory.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::id_t;
        let now = unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) };
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, (now + steps).clamp(-20, 19)) } != 0 {
            let name = std::thread::current().name().unwrap_or("?").to_owned();
            tracing::debug!(thread = %name, steps, "the thread keeps its CPU priority: {}", std::io::Error::last_os_error());
        }
    }
}
