//! Memory shared by the parent with its workers, like Python's
//! `multiprocessing.shared_memory`: the parent writes bytes there and sends a
//! task only where they lie; the worker reads them in place. A megabyte that
//! crosses the pool's socket is copied four times (encoded, into the socket,
//! out of it, decoded); through shared memory, once (the parent's write).
//!
//! A region is a memfd (Linux only: elsewhere [`SharedMemory::new`] fails,
//! and a caller sends its bytes with the task instead), sealed against
//! shrinking and growing so that a mapping of it never faults past its end.
//! Workers map it read-only. The pool's workers inherit it when they start:
//! give it to [`PoolBuilder::share`](crate::PoolBuilder::share), which keeps
//! it open as long as the pool may start workers.
//!
//! ```no_run
//! use procpool::shared_memory::{SharedMemory, SharedName, SharedView};
//!
//! fn sum((name, offset, len): (SharedName, usize, usize)) -> Result<u64, String> {
//!     let view = SharedView::attach(name).map_err(|e| e.to_string())?;
//!     // SAFETY: the parent writes these bytes before it sends the task and
//!     // not again until the result is back.
//!     let bytes = unsafe { view.bytes(offset, len) }.map_err(|e| e.to_string())?;
//!     Ok(bytes.iter().map(|&b| u64::from(b)).sum())
//! }
//!
//! procpool::init();
//! let mut memory = SharedMemory::new(1 << 20).unwrap();
//! memory.write(0, &[1, 2, 3]).unwrap();
//! let pool = procpool::Pool::builder().processes(2).share(&memory).build().unwrap();
//! assert_eq!(pool.apply(sum, (memory.name(), 0, 3)).unwrap(), Ok(6));
//! ```

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// What can go wrong with shared memory.
#[derive(Debug, thiserror::Error)]
pub enum SharedMemoryError {
    /// The system refused (memfd, mmap, fstat, fcntl, fallocate).
    #[error("shared memory: {0}")]
    Os(#[from] io::Error),
    /// Not on Linux.
    #[error("shared memory needs Linux's memfd")]
    Unsupported,
    /// A region of no bytes was asked for.
    #[error("shared memory of no bytes")]
    Empty,
    /// A range that does not lie within the region.
    #[error("bytes {offset}+{len} lie outside a shared region of {size}")]
    OutOfRange {
        /// Where the range starts.
        offset: usize,
        /// How many bytes.
        len: usize,
        /// The region's size.
        size: usize,
    },
    /// The name does not lead to a region this process inherited.
    #[error("shared memory {name:?} is not this worker's: {why} (share it with the pool before the pool starts)")]
    NotShared {
        /// The name given.
        name: SharedName,
        /// What was found instead.
        why: String,
    },
}

/// What a worker needs to find a region: the descriptor it inherited, the
/// region's size, and the file's identity, checked before it is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SharedName {
    fd: RawFd,
    len: u64,
    dev: u64,
    ino: u64,
}

/// A region of memory the parent writes and its workers read.
pub struct SharedMemory {
    fd: Arc<OwnedFd>,
    map: Mapping,
    name: SharedName,
}

// SAFETY: the mapping is owned memory like a Vec's: writes need `&mut self`.
unsafe impl Send for SharedMemory {}
// SAFETY: through `&self` the mapping is only read.
unsafe impl Sync for SharedMemory {}

impl SharedMemory {
    /// A region of `len` bytes (zeroed; pages are only taken when written).
    pub fn new(len: usize) -> Result<SharedMemory, SharedMemoryError> {
        if len == 0 {
            return Err(SharedMemoryError::Empty);
        }
        let fd = memfd(len)?;
        let map = Mapping::new(fd.as_raw_fd(), len, libc::PROT_READ | libc::PROT_WRITE)?;
        let (dev, ino, _) = identity(fd.as_raw_fd())?;
        let name = SharedName {
            fd: fd.as_raw_fd(),
            len: len as u64,
            dev,
            ino,
        };
        Ok(SharedMemory {
            fd: Arc::new(fd),
            map,
            name,
        })
    }

    /// The region's name, to send to a worker with a task.
    pub fn name(&self) -> SharedName {
        self.name
    }

    /// The region's size in bytes.
    pub fn len(&self) -> usize {
        self.map.len
    }

    /// Whether the region has no bytes (never: [`new`](Self::new) refuses that).
    pub fn is_empty(&self) -> bool {
        self.map.len == 0
    }

    /// Writes `bytes` at `offset`. (A worker may read a range only while
    /// the parent leaves it alone: see [`SharedView::bytes`].)
    pub fn write(&mut self, offset: usize, bytes: &[u8]) -> Result<(), SharedMemoryError> {
        let end = in_range(offset, bytes.len(), self.map.len)?;
        // SAFETY: the range lies within the mapping (checked above), which is
        // writable and which `&mut self` gives this call alone in this process.
        let target = unsafe {
            std::slice::from_raw_parts_mut(self.map.base.as_ptr().add(offset), end - offset)
        };
        target.copy_from_slice(bytes);
        Ok(())
    }

    /// The bytes at `offset..offset + len`, as written.
    pub fn bytes(&self, offset: usize, len: usize) -> Result<&[u8], SharedMemoryError> {
        // SAFETY: workers map it read-only, and this process writes it only
        // through `&mut self`.
        unsafe { self.map.bytes(offset, len) }
    }

    /// Gives the region's pages back to the system; it reads as zeros until
    /// written again. A memfd's pages stay taken as long as any process
    /// holds it (the pool and its workers do): for when no worker reads the
    /// region until it is written anew.
    pub fn discard(&mut self) -> Result<(), SharedMemoryError> {
        punch_hole(self.fd.as_raw_fd(), self.map.len)
    }

    /// The open descriptor, kept by a pool so that the workers it starts
    /// later inherit it too.
    pub(crate) fn descriptor(&self) -> Arc<OwnedFd> {
        Arc::clone(&self.fd)
    }
}

/// A worker's read-only mapping of a region its parent shared.
pub struct SharedView {
    map: Mapping,
}

// SAFETY: a read-only mapping; what may be read when is `bytes`' contract.
unsafe impl Send for SharedView {}
// SAFETY: a read-only mapping, whose reads `bytes`' contract governs.
unsafe impl Sync for SharedView {}

impl SharedView {
    /// Maps the region `name` in this worker. Fails when the descriptor is
    /// not that region (the region was made after this worker started, or
    /// was not given to the pool) or when the region could shrink.
    pub fn attach(name: SharedName) -> Result<SharedView, SharedMemoryError> {
        let not_shared = |why: String| SharedMemoryError::NotShared { name, why };
        let (dev, ino, size) = identity(name.fd).map_err(|e| not_shared(e.to_string()))?;
        if (dev, ino) != (name.dev, name.ino) {
            return Err(not_shared("the descriptor names another file".into()));
        }
        if !sealed_against_shrinking(name.fd) {
            return Err(not_shared("not sealed against shrinking".into()));
        }
        let len = usize::try_from(name.len).map_err(|_| not_shared("too large".into()))?;
        if size < name.len {
            return Err(not_shared("shorter than its name says".into()));
        }
        Ok(SharedView {
            map: Mapping::new(name.fd, len, libc::PROT_READ)?,
        })
    }

    /// The bytes at `offset..offset + len`.
    ///
    /// # Safety
    ///
    /// The parent must not write that range while the slice lives: it writes
    /// a task's bytes before it sends the task and not again until the
    /// task's result (or its worker's death) is back. The range itself is
    /// checked.
    pub unsafe fn bytes(&self, offset: usize, len: usize) -> Result<&[u8], SharedMemoryError> {
        // SAFETY: the caller vouches that nobody writes the range.
        unsafe { self.map.bytes(offset, len) }
    }
}

/// A shared mapping, unmapped on drop.
struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn new(fd: RawFd, len: usize, protection: libc::c_int) -> Result<Mapping, SharedMemoryError> {
        // SAFETY: a fresh mapping of `len` bytes of an open descriptor at no
        // fixed address: it aliases nothing this process holds.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                protection,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error().into());
        }
        let base = NonNull::new(base.cast())
            .ok_or_else(|| SharedMemoryError::Os(io::Error::other("mmap gave null")))?;
        Ok(Mapping { base, len })
    }
}

impl Mapping {
    /// The mapped bytes at `offset..offset + len`, the range checked.
    ///
    /// # Safety
    ///
    /// Nothing may write the range while the slice lives.
    unsafe fn bytes(&self, offset: usize, len: usize) -> Result<&[u8], SharedMemoryError> {
        in_range(offset, len, self.len)?;
        // SAFETY: within the mapping (checked above), of a file sealed
        // against shrinking, so reading it cannot fault; no writer, by the
        // caller's word.
        Ok(unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(offset), len) })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: this mapping's own range; the slices lent from it borrow
        // their owner, so none outlives it.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

fn in_range(offset: usize, len: usize, size: usize) -> Result<usize, SharedMemoryError> {
    offset
        .checked_add(len)
        .filter(|&end| end <= size)
        .ok_or(SharedMemoryError::OutOfRange { offset, len, size })
}

/// Whether `fd` can no longer shrink, so that a mapping of it cannot fault.
#[cfg(target_os = "linux")]
fn sealed_against_shrinking(fd: RawFd) -> bool {
    // SAFETY: fcntl on a descriptor; a closed one gives -1.
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    seals >= 0 && seals & libc::F_SEAL_SHRINK != 0
}

#[cfg(not(target_os = "linux"))]
fn sealed_against_shrinking(_fd: RawFd) -> bool {
    false
}

#[cfg(not(target_os = "linux"))]
fn memfd(_len: usize) -> Result<OwnedFd, SharedMemoryError> {
    Err(SharedMemoryError::Unsupported)
}

#[cfg(not(target_os = "linux"))]
fn punch_hole(_fd: RawFd, _len: usize) -> Result<(), SharedMemoryError> {
    Err(SharedMemoryError::Unsupported)
}

/// A sealed memfd of `len` bytes, closed on exec (a pool's worker is let
/// through when it starts). It is not sealed against writes, so that the
/// parent can give its pages back ([`SharedMemory::discard`]).
#[cfg(target_os = "linux")]
fn memfd(len: usize) -> Result<OwnedFd, SharedMemoryError> {
    let name = c"procpool-shared";
    // SAFETY: a NUL-terminated name and valid flags.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(io::Error::last_os_error().into());
    }
    // SAFETY: a descriptor just opened, owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let size = libc::off_t::try_from(len).map_err(io::Error::other)?;
    // SAFETY: plain calls on the descriptor owned above.
    unsafe {
        if libc::ftruncate(fd.as_raw_fd(), size) != 0
            || libc::fcntl(
                fd.as_raw_fd(),
                libc::F_ADD_SEALS,
                libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL,
            ) != 0
        {
            return Err(io::Error::last_os_error().into());
        }
    }
    Ok(fd)
}

/// Frees the pages of `fd`'s first `len` bytes; its size stays.
#[cfg(target_os = "linux")]
fn punch_hole(fd: RawFd, len: usize) -> Result<(), SharedMemoryError> {
    let len = libc::off_t::try_from(len).map_err(io::Error::other)?;
    let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
    // SAFETY: a plain call on an open descriptor.
    if unsafe { libc::fallocate(fd, mode, 0, len) } != 0 {
        return Err(io::Error::last_os_error().into());
    }
    Ok(())
}

/// The device, inode and size of an open descriptor's file.
fn identity(fd: RawFd) -> io::Result<(u64, u64, u64)> {
    // SAFETY: fstat fills the whole struct, or fails on a closed descriptor.
    unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut stat) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((stat.st_dev, stat.st_ino, stat.st_size as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_bytes_read_back_and_ranges_are_checked() {
        let mut memory = SharedMemory::new(4096).unwrap();
        memory.write(100, b"abc").unwrap();
        assert_eq!(memory.bytes(100, 3).unwrap(), b"abc");
        assert!(matches!(
            memory.write(4095, b"ab"),
            Err(SharedMemoryError::OutOfRange { .. })
        ));
        assert!(memory.bytes(usize::MAX, 2).is_err());
        // This process holds the descriptor, so it can attach as a worker would.
        let view = SharedView::attach(memory.name()).unwrap();
        // SAFETY: nothing writes the region while these slices live.
        assert_eq!(unsafe { view.bytes(100, 3) }.unwrap(), b"abc");
        assert!(matches!(
            unsafe { view.bytes(4000, 200) },
            Err(SharedMemoryError::OutOfRange { .. })
        ));
        // Discarded, it reads as zeros, here and in the view, and takes
        // writes again.
        memory.discard().unwrap();
        assert_eq!(memory.bytes(100, 3).unwrap(), [0, 0, 0]);
        assert_eq!(unsafe { view.bytes(100, 3) }.unwrap(), [0, 0, 0]);
        memory.write(100, b"xyz").unwrap();
        assert_eq!(unsafe { view.bytes(100, 3) }.unwrap(), b"xyz");
        assert_eq!(
            SharedMemory::new(0).err().map(|e| e.to_string()),
            Some("shared memory of no bytes".into())
        );
    }

    #[test]
    fn a_name_for_another_file_is_refused() {
        let memory = SharedMemory::new(4096).unwrap();
        let mut name = memory.name();
        name.ino += 1;
        let error = SharedView::attach(name).err().expect("refused");
        assert!(
            matches!(&error, SharedMemoryError::NotShared { why, .. } if why.contains("another file")),
            "{error}"
        );
        let mut name = memory.name();
        name.len += 1;
        assert!(SharedView::attach(name).is_err());
    }
}
