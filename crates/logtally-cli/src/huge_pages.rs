//! Transparent huge pages for glibc's allocator.
//!
//! A crawler's logs bring a new key on nearly every line, and a report a new
//! visitor: the tables of counts, their texts and the results shipped between
//! processes run to tens of megabytes, made and freed file after file. In
//! 4 KiB pages each is faulted in and zeroed a page at a time: 187,000 page
//! faults for 2 M distinct paths, 468,000 for the seed corpus's `--report`.
//! Where the kernel gives huge pages to memory that asks for them (`madvise`
//! in `/sys/kernel/mm/transparent_hugepage/enabled`, Debian's default),
//! glibc's allocator asks when its tunable `glibc.malloc.hugetlb=1` is set:
//! 35,000 and 65,000 faults. glibc reads its tunables only as a program
//! starts, so this program runs itself again, once, with the tunable set.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The glibc tunable (glibc 2.35 on; older ones ignore it).
const HUGETLB: &str = "glibc.malloc.hugetlb";

/// Runs this executable again, with the same arguments, with
/// `GLIBC_TUNABLES` asking for transparent huge pages, where that changes
/// something. Returns where it does not: the kernel gives huge pages to all
/// memory or to none, the tunable is set already (by the user, who may set
/// `glibc.malloc.hugetlb=0`, or by the run that executed this one, whose
/// workers inherit it too), or the program could not be run again.
pub fn ask_for_huge_pages() {
    let Some(tunables) = with_huge_pages(std::env::var_os("GLIBC_TUNABLES").as_deref()) else {
        return;
    };
    if !huge_pages_on_request() {
        return;
    }
    // The executable's own path, not /proc/self/exe, so that the process
    // keeps its name (`ps`, `pkill logtally`).
    let Ok(program) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut command = Command::new(program);
    if let Some(name) = args.next() {
        command.arg0(name);
    }
    // `exec` returns only where it failed: the run goes on as it is.
    let _ = command.args(args).env("GLIBC_TUNABLES", tunables).exec();
}

/// Whether this process's allocator asks for huge pages: the tunable is on.
pub fn asked() -> bool {
    std::env::var_os("GLIBC_TUNABLES").is_some_and(|t| hugetlb_of(&t).as_deref() == Some("1"))
}

/// The value `tunables` (glibc's `name=value:name=value`) give the tunable, if any.
fn hugetlb_of(tunables: &OsStr) -> Option<String> {
    tunables.to_string_lossy().split(':').find_map(|setting| {
        let value = setting.strip_prefix(HUGETLB)?.strip_prefix('=')?;
        Some(value.to_owned())
    })
}

/// `tunables` with huge pages asked for, or `None` where they set the
/// tunable already.
fn with_huge_pages(tunables: Option<&OsStr>) -> Option<OsString> {
    let mut value = OsString::new();
    if let Some(earlier) = tunables.filter(|t| !t.is_empty()) {
        if hugetlb_of(earlier).is_some() {
            return None;
        }
        value.push(earlier);
        value.push(":");
    }
    value.push(HUGETLB);
    value.push("=1");
    Some(value)
}

/// Whether the kernel gives transparent huge pages only to memory that asks.
fn huge_pages_on_request() -> bool {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|modes| modes.contains("[madvise]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tunable_is_added_once_and_the_users_kept() {
        let added = |t: Option<&str>| with_huge_pages(t.map(OsStr::new));
        assert_eq!(added(None), Some("glibc.malloc.hugetlb=1".into()));
        assert_eq!(added(Some("")), Some("glibc.malloc.hugetlb=1".into()));
        assert_eq!(
            added(Some("glibc.malloc.check=0")),
            Some("glibc.malloc.check=0:glibc.malloc.hugetlb=1".into())
        );
        // Set already: by the run before the exec, or by the user (who may turn it off).
        assert_eq!(added(Some("glibc.malloc.hugetlb=1")), None);
        assert_eq!(
            added(Some("glibc.malloc.check=0:glibc.malloc.hugetlb=0")),
            None
        );
    }
}
