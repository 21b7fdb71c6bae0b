// Pass-through: libzstd's public header (ZSTD_compressStream2 and its parameters are stable API).
// ZSTD_getCParams is in the "static linking only" section but exported by the shared library.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

/// The window log libzstd chooses for `level` when the input size is unknown.
static inline unsigned pgarchive_zstd_window_log(int level) {
    return ZSTD_getCParams(level, 0, 0).windowLog;
}
