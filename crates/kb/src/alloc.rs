//! The allocator, and how `kb watch` keeps the memory it frees.
//!
//! A build allocates and frees a million small records and strings per
//! stage; mimalloc does that with less time in the kernel than glibc. By
//! default mimalloc *purges* memory that stays free for a second (returns it
//! to the operating system), so memory used again later is faulted in and
//! zeroed by the kernel once more. In a one-shot `kb build` that costs
//! nothing measurable (turning purging off there made the peak RSS higher
//! and the one-edit rebuild at 20,000 documents no faster). `kb watch` is
//! different: it rebuilds again and again in one process, and each rebuild
//! needs about the memory the last one freed; there, keeping it
//! ([`keep_freed_memory`]) took a one-edit rebuild at 20,000 documents from
//! 2.2–2.6 s to 1.8–1.9 s on this project's machine (a VM where fresh memory
//! costs about 0.5 s per GB). The price is that a watching process holds on
//! to its peak memory between rebuilds. `MIMALLOC_PURGE_DELAY` set in the
//! environment still wins.

/// The global allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc's `mi_option_set` (`libmimalloc-sys` builds and links the C
// library; its Rust bindings of the option list are for an older version).
extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    #[cfg(test)]
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_t` (the 16th option:
/// `show_errors` … `deprecated_eager_commit_delay`, then `purge_delay`).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Tells mimalloc to keep freed memory instead of returning it to the
/// operating system, unless the environment says otherwise (for `kb watch`).
pub fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: `mi_option_set` only stores the value in mimalloc's option
        // table (an atomic store); the option is read when memory is purged.
        // Any value is valid for it; -1 means never.
        #[allow(unsafe_code)]
        unsafe {
            mi_option_set(MI_OPTION_PURGE_DELAY, -1)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(unsafe_code)]
    fn the_option_set_is_mimallocs_purge_delay() {
        // SAFETY: reads mimalloc's option table.
        let get = || unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) };
        // mimalloc 3's default purge delay is 1000 ms: option 15 is that
        // one (a mimalloc update that renumbers its options fails here).
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(), 1000);
            keep_freed_memory();
            assert_eq!(get(), -1);
        }
    }
}
