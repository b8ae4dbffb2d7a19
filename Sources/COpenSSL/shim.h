// OpenSSL's libcrypto: SHA-256 for the checkpoints' checksums (EVP_Digest).
#ifndef DLSTM_OPENSSL_SHIM_H
#define DLSTM_OPENSSL_SHIM_H
#include <openssl/evp.h>
#endif
