//! What crosses between the parent and a worker, and how a task is named.
//!
//! A task is named by the address of a trampoline monomorphized for its
//! function type, as an offset from a fixed function of this crate. Workers
//! run the very same executable (`/proc/self/exe`), so the offset names the
//! same code there. Task functions are zero-sized (fn items, closures that
//! capture nothing), so the trampoline can produce one without data.

use std::io::{self, Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A task's name: its trampoline's offset from [`anchor`].
pub(crate) type CallId = i64;

/// Decodes the argument, calls the task, encodes the result.
pub(crate) type Trampoline = fn(&[u8]) -> Result<Vec<u8>, String>;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToWorker {
    /// Run the initializer, if any, then report `InitDone`.
    Init(Option<(CallId, Vec<u8>)>),
    /// Run the task on each argument of a chunk.
    Run { call: CallId, args: Vec<Vec<u8>> },
    /// Exit cleanly.
    Exit,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum FromWorker {
    /// The worker is up (it entered worker mode in `init`).
    Hello { pid: u32 },
    /// The initializer ran (or failed with this panic message).
    InitDone(Result<(), String>),
    /// One result per argument: the encoded value, or the panic message.
    Done(Vec<Result<Vec<u8>, String>>),
}

#[inline(never)]
fn anchor() -> u8 {
    // Distinct body, so that code folding cannot merge it with another function.
    std::hint::black_box(0x5a)
}

fn offset_of(t: Trampoline) -> CallId {
    t as usize as i64 - anchor as fn() -> u8 as usize as i64
}

/// The trampoline a [`CallId`] names.
///
/// # Safety
/// `id` must come from [`offset_of`] in a process running the same executable.
pub(crate) unsafe fn trampoline_at(id: CallId) -> Trampoline {
    let addr = (anchor as fn() -> u8 as usize as i64 + id) as usize;
    std::mem::transmute::<usize, Trampoline>(addr)
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

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    bincode::deserialize(bytes).map_err(|e| format!("could not decode the argument: {e}"))
}

fn encode<R: Serialize>(value: &R) -> Result<Vec<u8>, String> {
    bincode::serialize(value).map_err(|e| format!("could not encode the result: {e}"))
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

pub(crate) fn call_id_for<F, T, R>(_f: F) -> CallId
where
    F: Fn(T) -> R + Copy + Send + 'static,
    T: DeserializeOwned,
    R: Serialize,
{
    offset_of(run_task::<F, T, R>)
}

pub(crate) fn call_id_for_star<F, Args, R>(_f: F) -> CallId
where
    F: crate::StarCall<Args, Output = R>,
    Args: DeserializeOwned,
    R: Serialize,
{
    offset_of(run_star::<F, Args, R>)
}

pub(crate) fn call_id_for_init<F, A>(_f: F) -> CallId
where
    F: Fn(A) + Copy + Send + 'static,
    A: DeserializeOwned,
{
    offset_of(run_init::<F, A>)
}

/// Writes one length-prefixed frame.
pub(crate) fn send<W: Write, M: Serialize>(out: &mut W, message: &M) -> io::Result<()> {
    let body = bincode::serialize(message).map_err(io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(io::Error::other)?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&body)?;
    out.flush()
}

/// Reads one frame; `Ok(None)` when the other side has gone.
pub(crate) fn receive<R: Read, M: DeserializeOwned>(input: &mut R) -> io::Result<Option<M>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
    input.read_exact(&mut body)?;
    bincode::deserialize(&body)
        .map(Some)
        .map_err(io::Error::other)
}
