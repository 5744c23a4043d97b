// SM2 signature verification (GB/T 32918.2) through the OpenSSL that Node itself links, with the signer ID
// set explicitly (EVP_PKEY_CTX_set1_id): Node's own crypto.verify('sm3') uses an empty ID and cannot verify
// standard SM2 signatures. No N-API here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace svde {

class Sm2Key {
 public:
  // pub: 65 bytes 04 || x || y on sm2p256v1. Throws NativeError when it is not a point of the curve.
  Sm2Key(const uint8_t* pub, size_t len);
  ~Sm2Key();
  Sm2Key(const Sm2Key&) = delete;
  Sm2Key& operator=(const Sm2Key&) = delete;

  // Verifies r||s (64 bytes) over msg with the signer ID (e = SM3(Z_A || msg) computed inside).
  bool Verify(const uint8_t* msg, size_t msgLen, const uint8_t* rs, size_t rsLen, const std::string& id) const;

 private:
  void* pkey_;  // EVP_PKEY*
};

}  // namespace svde
