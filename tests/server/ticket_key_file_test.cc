// relay.ticket_key_file: raw 32 bytes or their base64/base64url text; anything else
// is one sentence that says how to make a good file.
#include "parley/server/ticket_key_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "parley/crypto/encoding.h"

namespace parley::server {
namespace {

std::vector<uint8_t> Key() {
  std::vector<uint8_t> key(32);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(0xF0 + i * 3);  // has + and / in base64
  return key;
}

std::vector<uint8_t> Bytes(const std::string& text) { return {text.begin(), text.end()}; }

std::string StandardBase64(const std::vector<uint8_t>& bytes) {
  std::string text = crypto::ToBase64(bytes);
  for (char& c : text) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (text.size() % 4 != 0) text += '=';
  return text;
}

void ExpectKey(const Result<crypto::Secret<32>>& parsed) {
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(std::vector<uint8_t>(parsed->data(), parsed->data() + 32), Key());
}

TEST(TicketKeyFileTest, RawBase64AndBase64urlGiveTheSameKey) {
  ExpectKey(ParseTicketKeyFile(Key(), "k"));
  const std::string standard = StandardBase64(Key());
  ASSERT_NE(standard.find_first_of("+/"), std::string::npos);
  ExpectKey(ParseTicketKeyFile(Bytes(standard + "\n"), "k"));  // as `base64` writes it
  ExpectKey(ParseTicketKeyFile(Bytes("  " + crypto::ToBase64(Key()) + "\r\n"), "k"));
}

TEST(TicketKeyFileTest, WrongContentsAreOneSentenceSayingHowToMakeOne) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "is empty"},
      {" \n", "is empty"},
      {"short", "is neither 32 raw bytes nor base64"},
      {crypto::ToBase64(std::vector<uint8_t>(31, 1)), "holds 31 bytes of base64, not 32"},
      {crypto::ToBase64(std::vector<uint8_t>(33, 1)), "holds 33 bytes of base64, not 32"},
      {"AAAA=AAA", "has '=' padding before the end"},
      {std::string(200, 'A'), "is too long"},
      {std::string(33, '\0'), "is neither 32 raw bytes nor base64"},
  };
  for (const auto& [contents, what] : cases) {
    auto parsed = ParseTicketKeyFile(Bytes(contents), "/etc/parley/ticket.key");
    ASSERT_FALSE(parsed.ok()) << contents;
    const std::string& message = parsed.error().message;
    EXPECT_NE(message.find("The ticket key file /etc/parley/ticket.key " + what), std::string::npos)
        << "for " << contents.size() << " bytes: " << message;
    EXPECT_NE(message.find("head -c 32 /dev/urandom | base64"), std::string::npos);
    EXPECT_EQ(message.back(), '.');
  }
}

TEST(TicketKeyFileTest, ReadsAFileAndNamesAMissingOne) {
  const std::string path = ::testing::TempDir() + "/ticket_key_file_test.key";
  {
    std::ofstream out(path, std::ios::binary);
    out << StandardBase64(Key()) << "\n";
  }
  ExpectKey(ReadTicketKeyFile(path));
  std::remove(path.c_str());
  auto missing = ReadTicketKeyFile(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("Cannot read the ticket key file " + path), std::string::npos);
}

}  // namespace
}  // namespace parley::server
