// Pass-through: liblz4's frame and block APIs.
#include <lz4.h>
#include <lz4frame.h>
