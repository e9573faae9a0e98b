// Fuzzes relay.ticket_key_file's parser: any bytes give either a 32-byte key or one
// sentence naming the file, never a crash; 32 raw bytes are always the key itself.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "parley/base/check.h"
#include "parley/server/ticket_key_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> contents(data, size);
  auto key = parley::server::ParseTicketKeyFile(contents, "fuzz.key");
  if (key.ok()) {
    if (size == 32) PARLEY_CHECK(std::memcmp(key->data(), data, 32) == 0);
  } else {
    const std::string& message = key.error().message;
    PARLEY_CHECK(message.rfind("The ticket key file fuzz.key ", 0) == 0);
    PARLEY_CHECK(message.back() == '.');
  }
  return 0;
}
