// TLS certificate loading and self-signed generation with the OpenSSL 3 EVP API.
#include "parley/server/tls_certificate.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <memory>

#include "parley/server/data_directory.h"

namespace parley::server {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
void FreeBio(BIO* b) { BIO_free(b); }
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, FreeBio>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

// The first queued OpenSSL error as text, and the queue cleared, for one-line errors.
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no detail from OpenSSL";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

std::string ToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string ToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  std::string out(data, static_cast<size_t>(n));
  OPENSSL_cleanse(data, static_cast<size_t>(n));
  return out;
}

bool IsIpAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// Letters, digits, '-' and '.' only: also keeps the name from smuggling extra
// entries into the subjectAltName configuration string below.
bool IsHostName(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.';
    if (!ok) return false;
  }
  return true;
}

bool AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

}  // namespace

TlsCertificate::~TlsCertificate() {
  if (!key_pem_.empty()) OPENSSL_cleanse(key_pem_.data(), key_pem_.size());
}

Result<TlsCertificate> TlsCertificate::FromPem(std::string chain_pem, std::string key_pem, const std::string& what) {
  BioPtr chain_bio(BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size())));
  X509Ptr leaf(PEM_read_bio_X509(chain_bio.get(), nullptr, nullptr, nullptr));
  if (!leaf) {
    return Error{"the certificate " + what + " holds no PEM certificate (" + OpenSslError() +
                 "); give a PEM file that starts with the server's own certificate."};
  }
  BioPtr key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return Error{"the private key for " + what + " is not an unencrypted PEM private key (" + OpenSslError() +
                 "); give the key file that belongs to the certificate."};
  }
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    return Error{"the private key does not belong to the certificate " + what +
                 "; check that tls.certificate and tls.key are a pair."};
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_X509(leaf.get(), &der);
  if (der_len <= 0) return Error{"cannot encode the certificate " + what + " (" + OpenSslError() + ")."};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  const bool hashed = EVP_Digest(der, static_cast<size_t>(der_len), digest, &digest_len, EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  if (!hashed) return Error{"cannot hash the certificate " + what + " (" + OpenSslError() + ")."};
  static const char kHex[] = "0123456789abcdef";
  TlsCertificate out;
  for (unsigned int i = 0; i < digest_len; ++i) {
    out.fingerprint_ += kHex[digest[i] >> 4];
    out.fingerprint_ += kHex[digest[i] & 15];
  }
  out.chain_pem_ = std::move(chain_pem);
  out.key_pem_ = std::move(key_pem);
  return out;
}

Result<TlsCertificate> TlsCertificate::Load(const std::string& chain_path, const std::string& key_path) {
  auto chain = DataDirectory::ReadFile(chain_path);
  if (!chain) return Error{"cannot use tls.certificate: " + chain.error().message};
  auto key = DataDirectory::ReadFile(key_path);
  if (!key) return Error{"cannot use tls.key: " + key.error().message};
  return FromPem(std::move(*chain), std::move(*key), chain_path);
}

Result<TlsCertificate> TlsCertificate::Generate(const std::string& server_name) {
  const bool ip = IsIpAddress(server_name);
  if (!ip && !IsHostName(server_name)) {
    return Error{"cannot make a certificate for '" + server_name +
                 "': tls.server_name must be a host name (letters, digits, '-', '.') or an IP address."};
  }
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Error{"cannot generate an ECDSA P-256 key (" + OpenSslError() + ")."};
  X509Ptr cert(X509_new());
  BnPtr serial(BN_new());
  bool ok = cert && serial && X509_set_version(cert.get(), 2) == 1 &&
            BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
            BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -24L * 3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600) != nullptr &&
            X509_set_pubkey(cert.get(), key.get()) == 1;
  X509_NAME* name = ok ? X509_get_subject_name(cert.get()) : nullptr;
  ok = ok && name != nullptr &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(server_name.c_str()), -1, -1, 0) == 1 &&
       X509_set_issuer_name(cert.get(), name) == 1;
  std::string san = (ip ? "IP:" : "DNS:") + server_name;
  if (server_name != "localhost") san += ",DNS:localhost";
  if (server_name != "127.0.0.1") san += ",IP:127.0.0.1";
  if (server_name != "::1") san += ",IP:::1";
  ok = ok && AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") &&
       AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature") &&
       AddExtension(cert.get(), NID_ext_key_usage, "serverAuth") &&
       AddExtension(cert.get(), NID_subject_key_identifier, "hash") &&
       AddExtension(cert.get(), NID_subject_alt_name, san) &&
       X509_sign(cert.get(), key.get(), EVP_sha256()) > 0;
  if (!ok) return Error{"cannot build a self-signed certificate (" + OpenSslError() + ")."};
  auto out = FromPem(ToPem(cert.get()), ToPem(key.get()), "generated for " + server_name);
  if (out) out->generated_ = true;
  return out;
}

Result<TlsCertificate> TlsCertificate::LoadOrGenerate(const std::string& cert_path, const std::string& key_path,
                                                      const std::string& server_name) {
  if (DataDirectory::Exists(cert_path)) {
    if (!DataDirectory::Exists(key_path)) {
      return Error{"the generated certificate " + cert_path + " has no key at " + key_path +
                   "; restore the key or delete the certificate to make a new one (clients must then "
                   "pin the new fingerprint)."};
    }
    ::chmod(key_path.c_str(), 0600);  // narrow a key someone made readable
    return Load(cert_path, key_path);
  }
  auto cert = Generate(server_name);
  if (!cert) return cert;
  // The key first: a crash between the two writes leaves no certificate, so the next
  // start generates a fresh pair instead of loading a certificate without its key.
  if (auto s = DataDirectory::WriteFileAtomically(key_path, cert->key_pem(), 0600); !s) return s.error();
  if (auto s = DataDirectory::WriteFileAtomically(cert_path, cert->chain_pem(), 0644); !s) return s.error();
  return cert;
}

}  // namespace parley::server
