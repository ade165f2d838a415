//! The module's memory, watched: wasm32 addresses 4 GiB at most, and an
//! allocation past it aborts the thread that made it (a trap in one Web
//! Worker of the pool). The other threads and the page would wait forever for
//! that thread's work; instead the failure is recorded here first, where the
//! host worker looks for it while it waits, and the page says what happened.
//!
//! A lower limit can be set (the page's `?memory=MB`): an allocation that
//! finds the memory grown past it fails as the 4 GiB would, which is how
//! the failure is tested without filling 4 GiB.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The allocator of the module: the system's, watched.
#[global_allocator]
static ALLOCATOR: Watched = Watched;

/// Set once an allocation has failed: the module cannot go on.
static FAILED: AtomicBool = AtomicBool::new(false);

/// The memory limit in bytes (0: none but wasm32's own).
static LIMIT: AtomicUsize = AtomicUsize::new(0);

/// Bytes per page of wasm memory.
const PAGE: usize = 64 << 10;

/// Whether an allocation has failed (the module is out of memory).
pub fn failed() -> bool {
    FAILED.load(Ordering::SeqCst)
}

/// Fails allocations once the memory has grown past `bytes` (0: no limit).
pub fn limit(bytes: usize) {
    LIMIT.store(bytes, Ordering::SeqCst);
}

/// The memory the module has now, in bytes.
pub fn size() -> usize {
    core::arch::wasm32::memory_size(0) * PAGE
}

struct Watched;

impl Watched {
    /// `made`, a new allocation, or null where it failed or the memory grew
    /// past the limit (the allocation is then left unused: the module stops).
    fn checked(made: *mut u8) -> *mut u8 {
        let limit = LIMIT.load(Ordering::Relaxed);
        if made.is_null() || (limit != 0 && size() > limit) {
            FAILED.store(true, Ordering::SeqCst);
            return std::ptr::null_mut();
        }
        made
    }
}

// SAFETY: every call is passed to the system allocator with the caller's
// arguments, so its contract is the system allocator's. `alloc` and
// `alloc_zeroed` may return null for an allocation that succeeded, which
// only leaks it; `realloc` returns the system's result unchanged, since a
// null there promises the caller that its old block is still valid.
unsafe impl GlobalAlloc for Watched {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc` requires.
        Self::checked(unsafe { System.alloc(layout) })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        Self::checked(unsafe { System.alloc_zeroed(layout) })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is the system's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator (the system's) with `layout`.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if moved.is_null() {
            FAILED.store(true, Ordering::SeqCst);
        }
        moved
    }
}
