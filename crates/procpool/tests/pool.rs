//! The pool's behaviour, with real worker processes: this test binary is
//! re-entered in worker mode through the `procpool_worker` test below.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use procpool::{Pool, PoolBuilder, PoolError};

/// In a worker process this serves tasks and exits; in the test run it returns.
#[test]
fn procpool_worker() {
    procpool::init();
}

fn builder(n: usize) -> PoolBuilder {
    Pool::builder().processes(n).worker_args([
        "procpool_worker",
        "--exact",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
}

fn pool(n: usize) -> Pool {
    builder(n).build().expect("pool starts")
}

fn square(x: u64) -> u64 {
    x * x
}

fn slow_identity((x, millis): (u64, u64)) -> u64 {
    std::thread::sleep(Duration::from_millis(millis));
    x
}

fn pid_of(_: u64) -> u32 {
    std::process::id()
}

fn fail_on_three(x: u64) -> u64 {
    if x == 3 {
        panic!("three is not allowed");
    }
    x
}

fn abort_on_three(x: u64) -> u64 {
    if x == 3 {
        std::process::abort();
    }
    x
}

fn checked_half(x: u64) -> Result<u64, String> {
    if x % 2 == 1 {
        Err(format!("{x} is odd"))
    } else {
        Ok(x / 2)
    }
}

static INIT_RUNS: AtomicUsize = AtomicUsize::new(0);
static GREETING: Mutex<String> = Mutex::new(String::new());

fn setup(greeting: String) {
    INIT_RUNS.fetch_add(1, Ordering::SeqCst);
    *GREETING.lock().unwrap() = greeting;
}

fn report(_: u64) -> (u32, usize, String) {
    (
        std::process::id(),
        INIT_RUNS.load(Ordering::SeqCst),
        GREETING.lock().unwrap().clone(),
    )
}

fn alive(pid: u32) -> bool {
    // A reaped process has no /proc entry; a zombie would show state Z.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.contains(") Z "),
        Err(_) => false,
    }
}

#[test]
fn map_returns_results_in_input_order() {
    let pool = pool(2);
    assert_eq!(
        pool.map(square, 1..=8, None).unwrap(),
        vec![1, 4, 9, 16, 25, 36, 49, 64]
    );
    let closure = pool.map(
        |s: String| s.len(),
        vec!["a".to_string(), "abc".to_string()],
        None,
    );
    assert_eq!(closure.unwrap(), vec![1, 3]);
}

#[test]
fn imap_is_ordered_and_imap_unordered_is_complete() {
    let pool = pool(2);
    // Item 0 sleeps longest: imap still yields it first, imap_unordered last.
    let work = vec![(0, 600), (1, 10), (2, 150)];
    let ordered: Vec<u64> = pool
        .imap(slow_identity, work.clone(), None)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ordered, vec![0, 1, 2]);
    let unordered: Vec<u64> = pool
        .imap_unordered(slow_identity, work, None)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(unordered.len(), 3);
    assert_eq!(
        unordered.iter().copied().collect::<HashSet<_>>(),
        HashSet::from([0, 1, 2])
    );
    assert_eq!(
        *unordered.last().unwrap(),
        0,
        "the slowest comes last: {unordered:?}"
    );
}

#[test]
fn imap_unordered_delivers_every_item_of_a_large_batch() {
    let pool = pool(2);
    let mut got: Vec<u64> = pool
        .imap_unordered(square, 0..1000u64, Some(7))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..1000u64).map(square).collect::<Vec<_>>());
}

#[test]
fn chunksize_keeps_a_chunk_in_one_worker() {
    let pool = pool(2);
    let pids = pool.map(pid_of, 0..12u64, Some(4)).unwrap();
    for chunk in pids.chunks(4) {
        assert!(
            chunk.iter().all(|p| *p == chunk[0]),
            "a chunk ran on one worker: {pids:?}"
        );
    }
    assert_eq!(
        pool.map(square, 0..10u64, Some(3)).unwrap(),
        (0..10u64).map(square).collect::<Vec<_>>()
    );
}

#[test]
fn starmap_spreads_tuples_over_arguments() {
    let pool = pool(2);
    let powers = pool.starmap(
        |b: u64, e: u32| b.pow(e),
        vec![(2, 10), (3, 3), (10, 0)],
        None,
    );
    assert_eq!(powers.unwrap(), vec![1024, 27, 1]);
    let sums = pool.starmap(|a: i32, b: i32, c: i32| a + b + c, vec![(1, 2, 3)], Some(1));
    assert_eq!(sums.unwrap(), vec![6]);
}

#[test]
fn initializer_runs_once_in_each_worker() {
    let pool = builder(2)
        .initializer(setup, "hello".to_string())
        .build()
        .unwrap();
    let reports = pool.map(report, 0..40u64, Some(1)).unwrap();
    let mut per_pid: HashMap<u32, usize> = HashMap::new();
    for (pid, runs, greeting) in reports {
        assert_eq!(greeting, "hello");
        assert_eq!(runs, 1, "initializer ran once in worker {pid}");
        per_pid.insert(pid, runs);
    }
    assert!(per_pid.len() <= 2);
    assert!(
        !per_pid.contains_key(&std::process::id()),
        "tasks ran in workers, not the parent"
    );
}

#[test]
fn max_tasks_per_child_replaces_workers() {
    let pool = builder(2).max_tasks_per_child(2).build().unwrap();
    let pids = pool.map(pid_of, 0..12u64, Some(1)).unwrap();
    let distinct: HashSet<u32> = pids.iter().copied().collect();
    // 12 tasks, 2 per worker: at least 6 different processes did the work.
    assert!(distinct.len() >= 6, "{pids:?}");
    let mut per_pid: HashMap<u32, usize> = HashMap::new();
    for pid in pids {
        *per_pid.entry(pid).or_default() += 1;
    }
    assert!(per_pid.values().all(|&n| n <= 2), "{per_pid:?}");
}

#[test]
fn a_panicking_task_fails_alone() {
    let pool = pool(2);
    let results: Vec<Result<u64, PoolError>> =
        pool.imap(fail_on_three, 1..=6u64, None).unwrap().collect();
    for (i, r) in results.iter().enumerate() {
        if i == 2 {
            match r {
                Err(PoolError::Task { index: 2, message }) => {
                    assert!(message.contains("three is not allowed"), "{message}")
                }
                other => panic!("expected task 2 to fail, got {other:?}"),
            }
        } else {
            assert_eq!(*r.as_ref().unwrap(), i as u64 + 1);
        }
    }
    // `map` reports the failure, and the pool keeps working.
    assert!(matches!(
        pool.map(fail_on_three, 1..=6u64, None),
        Err(PoolError::Task { index: 2, .. })
    ));
    assert_eq!(pool.apply(square, 7).unwrap(), 49);
}

#[test]
fn a_task_returning_an_error_gets_that_error() {
    let pool = pool(2);
    let halves = pool.map(checked_half, vec![2, 3, 4], None).unwrap();
    assert_eq!(halves, vec![Ok(1), Err("3 is odd".to_string()), Ok(2)]);
}

#[test]
fn a_worker_that_aborts_fails_its_task_and_is_replaced() {
    let pool = pool(2);
    let mut results: Vec<(usize, Result<u64, PoolError>)> = Vec::new();
    let mut it = pool.imap_unordered(abort_on_three, 1..=8u64, None).unwrap();
    while let Some(r) = it.next_indexed() {
        results.push(r);
    }
    results.sort_by_key(|r| r.0);
    assert_eq!(results.len(), 8);
    for (index, r) in results {
        if index == 2 {
            match r {
                Err(PoolError::WorkerDied { index: 2, how, .. }) => {
                    assert!(how.contains("SIGABRT"), "{how}")
                }
                other => panic!("expected worker death for task 2, got {other:?}"),
            }
        } else {
            assert_eq!(r.unwrap(), index as u64 + 1);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.worker_pids().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(pool.worker_pids().len(), 2, "the dead worker was replaced");
    assert_eq!(pool.map(square, 1..=4u64, None).unwrap(), vec![1, 4, 9, 16]);
}

#[test]
fn a_killed_worker_fails_its_task_with_a_clear_error() {
    let pool = pool(1);
    let handle = pool.apply_async(slow_identity, (5, 5_000)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = pool.worker_pids()[0];
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
    let err = handle.get(Some(Duration::from_secs(10))).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("task 0 lost: worker process {pid} was killed by signal 9 (SIGKILL)")
    );
    assert_eq!(pool.apply(square, 3).unwrap(), 9);
}

#[test]
fn apply_async_times_out_and_stays_usable() {
    let pool = pool(1);
    let handle = pool.apply_async(slow_identity, (42, 700)).unwrap();
    assert!(!handle.ready());
    assert_eq!(handle.successful(), None);
    assert_eq!(
        handle.get(Some(Duration::from_millis(50))),
        Err(PoolError::Timeout)
    );
    assert!(!handle.wait(Some(Duration::from_millis(10))));
    assert_eq!(handle.get(None), Ok(42));
    assert!(handle.ready());
    assert_eq!(handle.successful(), Some(true));
    // The pool is still usable after the timeout.
    assert_eq!(pool.apply(square, 4).unwrap(), 16);
}

#[test]
fn map_async_calls_back() {
    let pool = pool(2);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let handle = pool
        .map_async(
            square,
            1..=4u64,
            None,
            Some(move |r: &[u64]| sink.lock().unwrap().extend_from_slice(r)),
            None::<fn(&PoolError)>,
        )
        .unwrap();
    assert_eq!(
        handle.get(Some(Duration::from_secs(10))).unwrap(),
        vec![1, 4, 9, 16]
    );
    // The callback ran before the result was published.
    assert_eq!(*seen.lock().unwrap(), vec![1, 4, 9, 16]);

    let failed = Arc::new(Mutex::new(None));
    let sink = Arc::clone(&failed);
    let handle = pool
        .map_async(
            fail_on_three,
            1..=4u64,
            Some(1),
            None::<fn(&[u64])>,
            Some(move |e: &PoolError| *sink.lock().unwrap() = Some(e.clone())),
        )
        .unwrap();
    assert!(handle.wait(Some(Duration::from_secs(10))));
    assert_eq!(handle.successful(), Some(false));
    assert!(matches!(
        *failed.lock().unwrap(),
        Some(PoolError::Task { index: 2, .. })
    ));
}

#[test]
fn close_then_join_finishes_queued_work_and_reaps() {
    let pool = pool(2);
    let pending = pool
        .imap(slow_identity, vec![(1, 100), (2, 100), (3, 100)], None)
        .unwrap();
    let pids = pool.worker_pids();
    pool.close();
    assert_eq!(pool.map(square, [1u64], None), Err(PoolError::NotRunning));
    pool.join();
    assert_eq!(
        pending.map(Result::unwrap).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    for pid in pids {
        assert!(!alive(pid), "worker {pid} was reaped");
    }
}

#[test]
fn terminate_cancels_and_drop_reaps() {
    let pool = pool(2);
    let pending = pool
        .imap_unordered(
            slow_identity,
            vec![(1, 5_000), (2, 5_000), (3, 5_000)],
            None,
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let pids = pool.worker_pids();
    assert_eq!(pids.len(), 2);
    let started = Instant::now();
    pool.terminate();
    let results: Vec<_> = pending.collect();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "terminate does not wait for tasks"
    );
    assert_eq!(results.len(), 3);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(PoolError::Terminated { .. }))),
        "{results:?}"
    );
    drop(pool);
    for pid in pids {
        assert!(!alive(pid), "worker {pid} was reaped");
    }
}

#[test]
fn dropping_a_busy_pool_leaves_no_process() {
    let pids = {
        let pool = pool(2);
        let _pending = pool
            .imap(slow_identity, vec![(1, 10_000), (2, 10_000)], None)
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        pool.worker_pids()
    };
    assert_eq!(pids.len(), 2);
    for pid in pids {
        assert!(!alive(pid), "worker {pid} was reaped");
    }
}

#[test]
fn a_panic_in_the_parent_still_reaps_the_workers() {
    let pids = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&pids);
    let outcome = std::thread::spawn(move || {
        let pool = pool(2);
        *seen.lock().unwrap() = pool.worker_pids();
        panic!("the parent fails while the pool is alive");
    })
    .join();
    assert!(outcome.is_err());
    let pids = pids.lock().unwrap().clone();
    assert_eq!(pids.len(), 2);
    for pid in pids {
        assert!(!alive(pid), "worker {pid} was reaped");
    }
}

#[test]
fn a_pool_built_on_a_thread_that_exits_keeps_its_workers() {
    // A worker's parent-death signal fires when the thread that forked it
    // exits: the pool must not fork from the caller's (here short-lived) thread.
    let pool = std::thread::spawn(|| pool(2)).join().unwrap();
    let first_pids = pool.worker_pids();
    assert_eq!(first_pids.len(), 2);
    std::thread::sleep(Duration::from_millis(300));
    for &pid in &first_pids {
        assert!(
            alive(pid),
            "worker {pid} outlived the thread that built the pool"
        );
    }
    let squares = pool.map(square, 1..=6u64, Some(1)).unwrap();
    assert_eq!(squares, vec![1, 4, 9, 16, 25, 36]);
    assert_eq!(
        pool.worker_pids(),
        first_pids,
        "no worker had to be replaced"
    );
}

/// Sums the bytes of a range of shared memory, read in the worker in place.
fn sum_shared(
    (name, offset, len): (procpool::shared_memory::SharedName, usize, usize),
) -> Result<u64, String> {
    let view = procpool::shared_memory::SharedView::attach(name).map_err(|e| e.to_string())?;
    // SAFETY: the test writes the region before it submits, and not after.
    let bytes = unsafe { view.bytes(offset, len) }.map_err(|e| e.to_string())?;
    Ok(bytes.iter().map(|&b| u64::from(b)).sum())
}

#[test]
fn workers_read_shared_memory_in_place_even_when_started_after_a_crash() {
    use procpool::shared_memory::SharedMemory;
    let mut memory = SharedMemory::new(1 << 20).unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    memory.write(4096, &data).unwrap();
    let expected: u64 = data.iter().map(|&b| u64::from(b)).sum();
    let pool = builder(2).share(&memory).build().unwrap();
    let name = memory.name();
    let sums = pool
        .map(sum_shared, vec![(name, 4096, data.len()); 4], None)
        .unwrap();
    assert_eq!(sums, vec![Ok(expected); 4]);
    // A worker that dies is replaced; the new one inherits the region too.
    assert!(pool.map(abort_on_three, vec![3], None).is_err());
    let sums = pool
        .map(sum_shared, vec![(name, 4096, data.len()); 4], None)
        .unwrap();
    assert_eq!(sums, vec![Ok(expected); 4]);
    // A range past the end is refused in the worker, not read.
    let past = pool.apply(sum_shared, (name, (1 << 20) - 10, 11)).unwrap();
    assert!(past.unwrap_err().contains("outside"));
}

#[test]
fn memory_not_shared_with_the_pool_is_refused_by_name() {
    use procpool::shared_memory::SharedMemory;
    let pool = pool(1);
    // Made after the worker started, and not given to the pool.
    let memory = SharedMemory::new(4096).unwrap();
    let error = pool
        .apply(sum_shared, (memory.name(), 0, 1))
        .unwrap()
        .unwrap_err();
    assert!(error.contains("is not this worker's"), "{error}");
}
