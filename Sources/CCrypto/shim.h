// Pass-through: OpenSSL libcrypto's EVP digests and HMAC.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/err.h>
