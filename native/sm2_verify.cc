#include "sm2_verify.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>
#include <vector>

#include "capture.h"  // NativeError

namespace svde {

Sm2Key::Sm2Key(const uint8_t* pub, size_t len) : pkey_(nullptr) {
  if (len != 65 || pub[0] != 0x04) throw NativeError("SM2 public key must be 65 bytes 04||x||y");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "SM2", nullptr);
  if (ctx == nullptr) throw NativeError("this OpenSSL has no SM2");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("SM2"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(pub), len),
      OSSL_PARAM_construct_end(),
  };
  EVP_PKEY* pkey = nullptr;
  const bool ok = EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok || pkey == nullptr) throw NativeError("not an SM2 public key (point not on sm2p256v1)");
  // fromdata does not check that the point is on the curve: a public-key check does.
  EVP_PKEY_CTX* chk = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
  const bool onCurve = chk != nullptr && EVP_PKEY_public_check(chk) == 1;
  EVP_PKEY_CTX_free(chk);
  if (!onCurve) {
    EVP_PKEY_free(pkey);
    throw NativeError("not an SM2 public key (point not on sm2p256v1)");
  }
  pkey_ = pkey;
}

Sm2Key::~Sm2Key() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

bool Sm2Key::Verify(const uint8_t* msg, size_t msgLen, const uint8_t* rs, size_t rsLen, const std::string& id) const {
  if (rsLen != 64) return false;
  // r||s → DER ECDSA-Sig-Value, the form EVP_DigestVerify takes.
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(rs, 32, nullptr);
  BIGNUM* s = BN_bin2bn(rs + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    throw NativeError("SM2 verify: out of memory");
  }
  unsigned char* der = nullptr;
  const int derLen = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (derLen <= 0) throw NativeError("SM2 verify: cannot encode the signature");

  EVP_PKEY* pkey = static_cast<EVP_PKEY*>(pkey_);
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
  EVP_MD_CTX* mctx = EVP_MD_CTX_new();
  bool result = false;
  if (pctx != nullptr && mctx != nullptr &&
      EVP_PKEY_CTX_set1_id(pctx, reinterpret_cast<const unsigned char*>(id.data()), id.size()) == 1) {
    EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
    if (EVP_DigestVerifyInit_ex(mctx, nullptr, "SM3", nullptr, nullptr, pkey, nullptr) == 1) {
      result = EVP_DigestVerify(mctx, der, static_cast<size_t>(derLen), msg, msgLen) == 1;
    }
  }
  EVP_MD_CTX_free(mctx);  // does not free a pkey ctx set with EVP_MD_CTX_set_pkey_ctx
  EVP_PKEY_CTX_free(pctx);
  OPENSSL_free(der);
  return result;
}

}  // namespace svde
