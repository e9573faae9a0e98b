// The web front's TLS certificate: a configured one (e.g. Let's Encrypt) used as is,
// or a self-signed ECDSA P-256 one generated on first start; and its SHA-256
// fingerprint, the pin clients store.
#pragma once

#include <string>

#include "parley/base/result.h"

namespace parley::server {

// A certificate chain and its private key in PEM, checked to belong together.
// Immutable after creation; safe to read from any thread. The key text is wiped
// (OPENSSL_cleanse) when the object is destroyed.
class TlsCertificate {
 public:
  // A configured certificate: `chain_path` holds the leaf first, then any
  // intermediates (fullchain.pem); `key_path` its private key. Errors say which file
  // is unreadable or wrong, or that the two do not match.
  static Result<TlsCertificate> Load(const std::string& chain_path, const std::string& key_path);

  // The generated certificate at cert_path/key_path, or, when cert_path does not exist
  // yet, a new self-signed one written there (certificate 0644, key 0600). A later
  // change of server_name does not regenerate it: the pin clients hold stays valid.
  static Result<TlsCertificate> LoadOrGenerate(const std::string& cert_path, const std::string& key_path,
                                               const std::string& server_name);

  // A new self-signed certificate, in memory only. Subject CN = server_name; SAN =
  // server_name (DNS or IP), localhost, 127.0.0.1 and ::1; valid from a day ago for
  // ten years; serial 127 random bits; signed ECDSA-SHA256. server_name must be a host
  // name or an IP address.
  static Result<TlsCertificate> Generate(const std::string& server_name);

  TlsCertificate(const TlsCertificate&) = default;
  TlsCertificate(TlsCertificate&&) = default;
  TlsCertificate& operator=(const TlsCertificate&) = default;
  TlsCertificate& operator=(TlsCertificate&&) = default;
  ~TlsCertificate();

  const std::string& chain_pem() const { return chain_pem_; }
  const std::string& key_pem() const { return key_pem_; }
  // SHA-256 of the leaf certificate's DER, 64 lower-case hex digits: the same value as
  // `openssl x509 -noout -fingerprint -sha256` without the colons.
  const std::string& fingerprint_sha256() const { return fingerprint_; }
  // True when this run generated the certificate (first start).
  bool generated() const { return generated_; }

 private:
  TlsCertificate() = default;
  static Result<TlsCertificate> FromPem(std::string chain_pem, std::string key_pem, const std::string& what);

  std::string chain_pem_;
  std::string key_pem_;
  std::string fingerprint_;
  bool generated_ = false;
};

}  // namespace parley::server
