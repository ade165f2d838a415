//! What crosses between the parent and a worker, and how a task is named.
//!
//! A task is named by a [`TaskEntry`]: a small static, one per task type
//! (monomorphized), that holds a magic number and the task's trampoline. The
//! name that crosses is the entry's offset from a fixed function of this
//! crate ([`anchor`]). Workers run the very same executable (`/proc/self/exe`,
//! checked by the fingerprint in their hello), so the offset names the same
//! entry there. Task functions are zero-sized (fn items, closures that capture
//! nothing), so the trampoline can produce one without data.
//!
//! The safety model: nothing is called on trust. The parent refuses to name a
//! task whose entry lies in another image than the anchor (a task in a shared
//! library, whose offset would differ in the worker). The worker refuses a
//! worker role in another executable (fingerprint), and refuses a name that
//! does not lead to an entry of its own image: it copies the bytes at that
//! address with a system call that fails instead of faulting on unmapped
//! memory, checks the magic number, and checks that the trampoline lies in the
//! same image; only then does it call it.

use std::io::{self, Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_bytes::{ByteBuf, Bytes};

/// A task's name: its [`TaskEntry`]'s offset from [`anchor`].
pub(crate) type CallId = i64;

/// Decodes the argument, calls the task, encodes the result.
pub(crate) type Trampoline = fn(&[u8]) -> Result<Vec<u8>, String>;

/// Marks a [`TaskEntry`]: an address that does not hold it is not a task.
const TASK_MAGIC: u128 = 0x7072_6f63_706f_6f6c_9e37_79b9_7f4a_7c15;

/// The static a [`CallId`] points at, one per task type.
#[repr(C)]
pub(crate) struct TaskEntry {
    magic: u128,
    run: Trampoline,
}

/// The entry of one task type, as a promoted constant: a static per monomorphization.
struct EntryOf<F, T, R>(std::marker::PhantomData<fn(F, T) -> R>);

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToWorker<'a> {
    /// Run the initializer, if any, then report `InitDone`.
    Init(Option<(CallId, Vec<u8>)>),
    /// Run the task on each argument of a chunk. Byte strings, not sequences
    /// of numbers, borrowed on both sides (from the caller's encoded
    /// arguments, and from the frame read): a megabyte crosses as one write
    /// and one read.
    Run {
        call: CallId,
        #[serde(borrow)]
        args: Vec<&'a Bytes>,
    },
    /// Exit cleanly.
    Exit,
}

/// A worker's message. `B`, a result's bytes: owned where the worker sends
/// them, borrowed from the frame where the parent reads them (a result of
/// many megabytes is then not copied out of its frame).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum FromWorkerOf<B> {
    /// The worker is up (it entered worker mode in `init`), running this executable.
    Hello { pid: u32, fingerprint: Fingerprint },
    /// The initializer ran (or failed with this panic message).
    InitDone(Result<(), String>),
    /// One result per argument: the encoded value, or the panic message.
    Done(Vec<Result<B, String>>),
}

/// A worker's message as it sends it.
pub(crate) type FromWorker = FromWorkerOf<ByteBuf>;

/// What identifies the executable a process runs, and where this crate's code
/// sits in it: equal in parent and worker when the worker is the same program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    /// Device and inode, size and modification time of the executable file.
    pub(crate) exe: Option<(u64, u64, u64, i64)>,
    /// The anchor's offset from the start of its image.
    pub(crate) anchor_offset: Option<usize>,
}

impl Fingerprint {
    /// This process's fingerprint (computed once: it cannot change).
    pub(crate) fn of_this_process() -> Fingerprint {
        static OURS: std::sync::OnceLock<Fingerprint> = std::sync::OnceLock::new();
        OURS.get_or_init(Fingerprint::compute).clone()
    }

    fn compute() -> Fingerprint {
        use std::os::unix::fs::MetadataExt;
        let exe = std::fs::metadata("/proc/self/exe")
            .or_else(|_| std::env::current_exe().and_then(std::fs::metadata))
            .ok()
            .map(|m| (m.dev(), m.ino(), m.size(), m.mtime()));
        let anchor = anchor_address();
        Fingerprint {
            exe,
            anchor_offset: image_base(anchor).map(|base| anchor - base),
        }
    }
}

#[inline(never)]
fn anchor() -> u8 {
    // Distinct body, so that code folding cannot merge it with another function.
    std::hint::black_box(0x5a)
}

fn anchor_address() -> usize {
    anchor as fn() -> u8 as usize
}

/// The start of the loaded image (executable or shared library) that holds
/// `address`, as the dynamic loader knows it (`dladdr`).
fn image_base(address: usize) -> Option<usize> {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // SAFETY: dladdr only reads the loader's tables and writes `info`; any address may be asked.
    let found = unsafe { libc::dladdr(address as *const libc::c_void, info.as_mut_ptr()) };
    if found == 0 {
        return None;
    }
    // SAFETY: dladdr returned non-zero, so it filled `info`.
    let info = unsafe { info.assume_init() };
    Some(info.dli_fbase as usize)
}

/// Whether `address` lies in the same loaded image as the anchor.
pub(crate) fn in_anchor_image(address: usize) -> bool {
    match (image_base(anchor_address()), image_base(address)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The name of `entry`, or why it cannot cross to a worker.
fn name_of(entry: &'static TaskEntry) -> CallId {
    entry as *const TaskEntry as usize as i64 - anchor_address() as i64
}

/// Checks that a task can be named across processes (see the module docs).
pub(crate) fn check_nameable(call: CallId) -> Result<(), String> {
    let address = (anchor_address() as i64).wrapping_add(call) as usize;
    if in_anchor_image(address) {
        Ok(())
    } else {
        Err(
            "the task lives in another image (a shared library) than procpool: \
             its name would not lead to it in a worker process"
                .to_string(),
        )
    }
}

/// The trampoline a [`CallId`] names, found and checked as the module docs say.
pub(crate) fn resolve(call: CallId) -> Result<Trampoline, String> {
    let unknown = || format!("unknown task id {call}: not a task of this executable");
    let address = (anchor_address() as i64).wrapping_add(call) as usize;
    if !in_anchor_image(address) {
        return Err(unknown());
    }
    let mut bytes = [0u8; std::mem::size_of::<TaskEntry>()];
    if !copy_own_memory(address, &mut bytes) {
        return Err(unknown());
    }
    let magic = u128::from_ne_bytes(bytes[..16].try_into().map_err(|_| unknown())?);
    let run_address = usize::from_ne_bytes(
        bytes[16..16 + std::mem::size_of::<usize>()]
            .try_into()
            .map_err(|_| unknown())?,
    );
    if magic != TASK_MAGIC || !in_anchor_image(run_address) {
        return Err(unknown());
    }
    // SAFETY: the bytes at `address` carry the magic of a TaskEntry, and entries
    // are only made by `EntryOf::ENTRY`, whose `run` is a Trampoline of this
    // image (checked above); so `run_address` is such a function.
    Ok(unsafe { std::mem::transmute::<usize, Trampoline>(run_address) })
}

/// Copies `out.len()` bytes of this process's memory at `address`, failing
/// (instead of faulting) where it is not mapped readable.
#[cfg(target_os = "linux")]
fn copy_own_memory(address: usize, out: &mut [u8]) -> bool {
    let local = libc::iovec {
        iov_base: out.as_mut_ptr().cast(),
        iov_len: out.len(),
    };
    let remote = libc::iovec {
        iov_base: address as *mut libc::c_void,
        iov_len: out.len(),
    };
    // SAFETY: the kernel writes at most `out.len()` bytes into `out` and checks the
    // remote range itself (EFAULT if unmapped); it is our own process.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    n == out.len() as isize
}

/// Elsewhere: a pipe write, which likewise fails with EFAULT on unmapped memory.
#[cfg(not(target_os = "linux"))]
fn copy_own_memory(address: usize, out: &mut [u8]) -> bool {
    let mut fds = [0; 2];
    // SAFETY: plain system calls on descriptors we own; write() checks the range.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return false;
        }
        let ok = libc::write(fds[1], address as *const libc::c_void, out.len())
            == out.len() as isize
            && libc::read(fds[0], out.as_mut_ptr().cast(), out.len()) == out.len() as isize;
        libc::close(fds[0]);
        libc::close(fds[1]);
        ok
    }
}

/// Makes the task function out of nothing: it is a zero-sized fn item or a
/// closure that captures nothing, checked when the pool is called.
fn conjure<F: Copy>() -> F {
    const {
        assert!(
            std::mem::size_of::<F>() == 0,
            "a pool task must be a function or a closure that captures nothing"
        )
    };
    // SAFETY: F is zero-sized and Copy (a fn item or capture-free closure): it has no bytes and no invariant.
    unsafe { std::mem::zeroed() }
}

/// How arguments and results are encoded, in one place: bincode with
/// fixed-size integers. Variable-length ones were tried: `--report`'s
/// results (64-bit visitor hashes, which take 9-10 bytes that way) took 3-4%
/// more CPU; a type that ships many small numbers packs them itself
/// (logtally's shipped counts do).
pub(crate) fn values() -> impl bincode::Options + Copy {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .allow_trailing_bytes()
}

/// `value` encoded as arguments and results are.
pub(crate) fn encode_value<T: Serialize + ?Sized>(value: &T) -> bincode::Result<Vec<u8>> {
    bincode::Options::serialize(values(), value)
}

/// A value from bytes [`encode_value`] made.
pub(crate) fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> bincode::Result<T> {
    bincode::Options::deserialize(values(), bytes)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    decode_value(bytes).map_err(|e| format!("could not decode the argument: {e}"))
}

fn encode<R: Serialize>(value: &R) -> Result<Vec<u8>, String> {
    encode_value(value).map_err(|e| format!("could not encode the result: {e}"))
}

fn run_task<F, T, R>(arg: &[u8]) -> Result<Vec<u8>, String>
where
    F: Fn(T) -> R + Copy,
    T: DeserializeOwned,
    R: Serialize,
{
    let f: F = conjure();
    encode(&f(decode(arg)?))
}

fn run_star<F, Args, R>(arg: &[u8]) -> Result<Vec<u8>, String>
where
    F: crate::StarCall<Args, Output = R>,
    Args: DeserializeOwned,
    R: Serialize,
{
    let f: F = conjure();
    encode(&f.call(decode(arg)?))
}

fn run_init<F, A>(arg: &[u8]) -> Result<Vec<u8>, String>
where
    F: Fn(A) + Copy,
    A: DeserializeOwned,
{
    let f: F = conjure();
    f(decode(arg)?);
    Ok(Vec::new())
}

impl<F, T, R> EntryOf<F, T, R>
where
    F: Fn(T) -> R + Copy,
    T: DeserializeOwned,
    R: Serialize,
{
    const TASK: &'static TaskEntry = &TaskEntry {
        magic: TASK_MAGIC,
        run: run_task::<F, T, R>,
    };
}

impl<F, Args, R> EntryOf<F, Args, (R, Star)>
where
    F: crate::StarCall<Args, Output = R>,
    Args: DeserializeOwned,
    R: Serialize,
{
    const STAR: &'static TaskEntry = &TaskEntry {
        magic: TASK_MAGIC,
        run: run_star::<F, Args, R>,
    };
}

impl<F, A> EntryOf<F, A, ()>
where
    F: Fn(A) + Copy,
    A: DeserializeOwned,
{
    const INIT: &'static TaskEntry = &TaskEntry {
        magic: TASK_MAGIC,
        run: run_init::<F, A>,
    };
}

/// Tells the entry of a starmap task from that of a plain one of the same types.
struct Star;

pub(crate) fn call_id_for<F, T, R>(_f: F) -> CallId
where
    F: Fn(T) -> R + Copy + Send + 'static,
    T: DeserializeOwned,
    R: Serialize,
{
    name_of(EntryOf::<F, T, R>::TASK)
}

pub(crate) fn call_id_for_star<F, Args, R>(_f: F) -> CallId
where
    F: crate::StarCall<Args, Output = R>,
    Args: DeserializeOwned,
    R: Serialize,
{
    name_of(EntryOf::<F, Args, (R, Star)>::STAR)
}

pub(crate) fn call_id_for_init<F, A>(_f: F) -> CallId
where
    F: Fn(A) + Copy + Send + 'static,
    A: DeserializeOwned,
{
    name_of(EntryOf::<F, A, ()>::INIT)
}

/// Writes one length-prefixed frame, encoding straight into `out`.
pub(crate) fn send<W: Write, M: Serialize>(out: &mut W, message: &M) -> io::Result<()> {
    let len = bincode::serialized_size(message).map_err(io::Error::other)?;
    let len = u32::try_from(len).map_err(io::Error::other)?;
    // Small fields are gathered; a large byte string goes through unbuffered.
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    out.write_all(&len.to_le_bytes())?;
    bincode::serialize_into(&mut out, message).map_err(io::Error::other)?;
    out.flush()
}

/// Reads one frame's bytes into `body` (reused from frame to frame, so a
/// worker does not map fresh pages for every argument); `Ok(false)` when the
/// other side has gone.
pub(crate) fn receive_frame<R: Read>(input: &mut R, body: &mut Vec<u8>) -> io::Result<bool> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    body.clear();
    body.resize(u32::from_le_bytes(len) as usize, 0);
    input.read_exact(body)?;
    Ok(true)
}

/// Reads one frame; `Ok(None)` when the other side has gone.
pub(crate) fn receive<R: Read, M: DeserializeOwned>(input: &mut R) -> io::Result<Option<M>> {
    let mut body = Vec::new();
    if !receive_frame(input, &mut body)? {
        return Ok(None);
    }
    bincode::deserialize(&body)
        .map(Some)
        .map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(x: u64) -> u64 {
        2 * x
    }

    #[test]
    fn a_task_name_resolves_to_its_trampoline() {
        let call = call_id_for(double);
        check_nameable(call).unwrap();
        let run = resolve(call).unwrap();
        let out = run(&encode_value(&21u64).unwrap()).unwrap();
        assert_eq!(decode_value::<u64>(&out).unwrap(), 42);
    }

    #[test]
    fn unknown_task_ids_are_refused_not_called() {
        let call = call_id_for(double);
        // Next to a real entry, inside it, at the anchor itself, far away, unmapped.
        for bogus in [
            call + 8,
            call + 1,
            0,
            i64::MAX / 2,
            -(anchor_address() as i64) + 16,
        ] {
            let err = resolve(bogus).expect_err("a bogus id is refused");
            assert!(err.contains("unknown task id"), "{err}");
        }
    }

    #[test]
    fn a_task_in_another_image_is_refused() {
        // strlen lives in libc, another image than this crate's anchor.
        let libc_fn = libc::strlen as *const () as usize;
        assert!(!in_anchor_image(libc_fn));
        let call = libc_fn as i64 - anchor_address() as i64;
        let err = check_nameable(call).unwrap_err();
        assert!(err.contains("another image"), "{err}");
        assert!(resolve(call).is_err());
    }

    #[test]
    fn the_fingerprint_tells_executables_apart() {
        let ours = Fingerprint::of_this_process();
        assert_eq!(ours, Fingerprint::of_this_process());
        assert!(ours.exe.is_some() && ours.anchor_offset.is_some());
        use std::os::unix::fs::MetadataExt;
        let sh = std::fs::metadata("/bin/sh").unwrap();
        let other = Fingerprint {
            exe: Some((sh.dev(), sh.ino(), sh.size(), sh.mtime())),
            ..ours.clone()
        };
        assert_ne!(ours, other);
    }
}
