#include "util/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace invsys {

// OpenSSL's digest (libcrypto, which the PostgreSQL client library needs
// anyway) rather than one of our own: one vetted implementation for the
// key hashes and the Idempotency-Key fingerprints alike.
std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed (OpenSSL EVP_Digest)");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * size);
    for (unsigned int i = 0; i < size; ++i) {
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 0x0f]);
    }
    return out;
}

}  // namespace invsys
