import CSpawn

/// Gives the heap's free pages back to the system (glibc `malloc_trim`), after a phase that
/// parsed 100,000 lines or entries: what it freed would otherwise stay in the process's RSS.
public func releaseFreedMemory() {
    _ = pgarchive_release_free_memory()
}
