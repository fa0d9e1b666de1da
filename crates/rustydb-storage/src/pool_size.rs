//! The buffer pool's default size, from the machine's memory.
//!
//! PostgreSQL's default `shared_buffers` is 128 MiB whatever the machine, and its documentation
//! then asks for a quarter of memory on a dedicated server: it leans on the operating system's
//! page cache for the rest. This server reads every page through its pool, so an undersized pool
//! costs a system call and a checksum per miss (a pgbench scale-10 database, 160 MiB, misses
//! one page read in six through a 128 MiB pool). The default is therefore an eighth of memory
//! (of the cgroup's limit where one is set), at least 128 MiB and at most 1 GiB; the pool's
//! memory is an anonymous mapping that the kernel supplies as frames are first used, so an
//! idle server does not hold it. `buffer_pool_pages` in the configuration sets the size.

/// The smallest default pool.
pub const MIN_AUTO_BYTES: usize = 128 << 20;
/// The largest default pool.
pub const MAX_AUTO_BYTES: usize = 1 << 30;

/// The default pool size in bytes: an eighth of the memory this process may use, clamped to
/// [`MIN_AUTO_BYTES`]..=[`MAX_AUTO_BYTES`] (the minimum when the memory cannot be read).
pub fn auto_pool_bytes() -> usize {
    let memory = [physical_memory(), cgroup_limit()].into_iter().flatten().min();
    memory.map_or(MIN_AUTO_BYTES, |m| (m / 8).clamp(MIN_AUTO_BYTES as u64, MAX_AUTO_BYTES as u64) as usize)
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The cgroup v2 memory limit of this process (its own cgroup's, as `/proc/self/cgroup`
/// names it, or the root's), if one is set.
fn cgroup_limit() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok().and_then(|text| {
        text.lines().find_map(|l| l.strip_prefix("0::")).map(|path| path.trim().trim_start_matches('/').to_string())
    });
    let read = |dir: &str| -> Option<u64> {
        let path = std::path::Path::new("/sys/fs/cgroup").join(dir).join("memory.max");
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    };
    own.as_deref().and_then(read).or_else(|| read(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_pool_is_within_its_bounds_and_follows_memory() {
        let bytes = auto_pool_bytes();
        assert!((MIN_AUTO_BYTES..=MAX_AUTO_BYTES).contains(&bytes), "{bytes}");
        if let Some(memory) = physical_memory() {
            assert!(memory > 0);
            if memory >= 8 * MAX_AUTO_BYTES as u64 && cgroup_limit().is_none() {
                assert_eq!(bytes, MAX_AUTO_BYTES);
            }
        }
    }
}
