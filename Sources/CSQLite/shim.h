// Pass-through: SQLite's public header (the archive cache's database).
#include <sqlite3.h>

/// SQLITE_TRANSIENT as a function: the macro's cast of -1 to a function pointer does not import.
static inline sqlite3_destructor_type pgarchive_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}
