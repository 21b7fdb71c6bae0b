// Pass-through: libpq's public header.
#include <libpq-fe.h>
