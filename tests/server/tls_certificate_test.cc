// Tests for the web front's certificate: generation (names, key type, permissions),
// a fingerprint stable across restarts, and configured certificates used as they are.
#include "parley/server/tls_certificate.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/server/data_directory.h"

namespace parley::server {
namespace {

using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "parley_cert_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

X509* ParseLeaf(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return x;
}

TEST(TlsCertificateTest, GeneratesP256WithNamesInSan) {
  auto cert = TlsCertificate::Generate("voice.example.org");
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  EXPECT_TRUE(cert->generated());
  EXPECT_EQ(cert->fingerprint_sha256().size(), 64u);
  X509* x = ParseLeaf(cert->chain_pem());
  ASSERT_NE(x, nullptr);
  EVP_PKEY* pub = X509_get0_pubkey(x);
  EXPECT_EQ(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
  char group[64] = {};
  size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(pub, group, sizeof group, &len), 1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_check_host(x, "voice.example.org", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(x, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(x, "other.example.org", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_verify(x, pub), 1);  // self-signed
  X509_free(x);

  auto other = TlsCertificate::Generate("voice.example.org");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->fingerprint_sha256(), cert->fingerprint_sha256());
}

TEST(TlsCertificateTest, IpServerNameGoesInAsIp) {
  auto cert = TlsCertificate::Generate("192.0.2.7");
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  X509* x = ParseLeaf(cert->chain_pem());
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(X509_check_ip_asc(x, "192.0.2.7", 0), 1);
  X509_free(x);
}

TEST(TlsCertificateTest, RefusesNamesThatCouldInjectSanEntries) {
  auto cert = TlsCertificate::Generate("a.org,IP:10.0.0.1");
  ASSERT_FALSE(cert.ok());
  EXPECT_THAT(cert.error().message, HasSubstr("tls.server_name must be a host name"));
}

TEST(TlsCertificateTest, FingerprintStableAcrossRestartsAndKeyIsPrivate) {
  TempDir dir;
  const std::string cert_path = dir.File("tls_certificate.pem");
  const std::string key_path = dir.File("tls_key.pem");
  auto first = TlsCertificate::LoadOrGenerate(cert_path, key_path, "localhost");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->generated());
  struct stat st {};
  ASSERT_EQ(::stat(key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto second = TlsCertificate::LoadOrGenerate(cert_path, key_path, "localhost");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(second->generated());
  EXPECT_EQ(second->fingerprint_sha256(), first->fingerprint_sha256());
  EXPECT_EQ(second->chain_pem(), first->chain_pem());

  // A key someone made world-readable is narrowed again at start.
  ASSERT_EQ(::chmod(key_path.c_str(), 0644), 0);
  ASSERT_TRUE(TlsCertificate::LoadOrGenerate(cert_path, key_path, "localhost").ok());
  ASSERT_EQ(::stat(key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::filesystem::remove(key_path);
  auto no_key = TlsCertificate::LoadOrGenerate(cert_path, key_path, "localhost");
  ASSERT_FALSE(no_key.ok());
  EXPECT_THAT(no_key.error().message, HasSubstr("has no key"));
}

TEST(TlsCertificateTest, ConfiguredCertificateIsUsedAsIs) {
  TempDir dir;
  auto made = TlsCertificate::Generate("configured.example");
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(DataDirectory::WriteFileAtomically(dir.File("fullchain.pem"), made->chain_pem(), 0644).ok());
  ASSERT_TRUE(DataDirectory::WriteFileAtomically(dir.File("privkey.pem"), made->key_pem(), 0600).ok());
  auto loaded = TlsCertificate::Load(dir.File("fullchain.pem"), dir.File("privkey.pem"));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_FALSE(loaded->generated());
  EXPECT_EQ(loaded->chain_pem(), made->chain_pem());
  EXPECT_EQ(loaded->fingerprint_sha256(), made->fingerprint_sha256());
}

TEST(TlsCertificateTest, ConfiguredCertificateErrorsAreClear) {
  TempDir dir;
  auto a = TlsCertificate::Generate("a.example");
  auto b = TlsCertificate::Generate("b.example");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(DataDirectory::WriteFileAtomically(dir.File("a.pem"), a->chain_pem(), 0644).ok());
  ASSERT_TRUE(DataDirectory::WriteFileAtomically(dir.File("b.key"), b->key_pem(), 0600).ok());
  ASSERT_TRUE(DataDirectory::WriteFileAtomically(dir.File("junk.pem"), "hello", 0644).ok());

  auto mismatch = TlsCertificate::Load(dir.File("a.pem"), dir.File("b.key"));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(mismatch.error().message, HasSubstr("does not belong to the certificate"));

  auto junk = TlsCertificate::Load(dir.File("junk.pem"), dir.File("b.key"));
  ASSERT_FALSE(junk.ok());
  EXPECT_THAT(junk.error().message, HasSubstr("holds no PEM certificate"));

  auto junk_key = TlsCertificate::Load(dir.File("a.pem"), dir.File("junk.pem"));
  ASSERT_FALSE(junk_key.ok());
  EXPECT_THAT(junk_key.error().message, HasSubstr("not an unencrypted PEM private key"));

  auto missing = TlsCertificate::Load(dir.File("none.pem"), dir.File("b.key"));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("tls.certificate"));
  EXPECT_THAT(missing.error().message, HasSubstr("none.pem"));
}

}  // namespace
}  // namespace parley::server
