// Pass-through: libzstd's public header (ZSTD_compressStream2 and its parameters are stable API).
#include <zstd.h>
#include <zstd_errors.h>
