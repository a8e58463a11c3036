#include "util/sha256.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace invsys {
namespace {

// Fetched once per process: EVP_Digest with EVP_sha256() looks the
// implementation up in OpenSSL 3's provider on every call and makes and
// frees a context each time, which together cost more than hashing an API
// key (done for every request that carries one). The fetched digest is
// never freed: it lives as long as the process.
const EVP_MD* sha256_digest() {
    static const EVP_MD* const digest = [] {
        const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        return fetched != nullptr ? fetched : EVP_sha256();
    }();
    return digest;
}

struct context_free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

// One context per thread, re-initialised for each digest.
EVP_MD_CTX* thread_context() {
    thread_local const std::unique_ptr<EVP_MD_CTX, context_free> context(EVP_MD_CTX_new());
    return context.get();
}

}  // namespace

// OpenSSL's digest (libcrypto, which the PostgreSQL client library needs
// anyway) rather than one of our own: one vetted implementation for the
// key hashes and the Idempotency-Key fingerprints alike.
std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_MD_CTX* context = thread_context();
    if (context == nullptr || EVP_DigestInit_ex2(context, sha256_digest(), nullptr) != 1 ||
        EVP_DigestUpdate(context, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(context, digest, &size) != 1)
        throw std::runtime_error("SHA-256 failed (OpenSSL EVP_Digest)");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(2 * size, '0');
    for (unsigned int i = 0; i < size; ++i) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0x0f];
    }
    return out;
}

}  // namespace invsys
