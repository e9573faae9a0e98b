// The decoy website's files, embedded in the binary by a build step
// (decoy/embed_decoy.cmake writes decoy_files.cc from the files in decoy/).
#pragma once

#include <cstddef>
#include <string_view>

namespace parley::server {

struct DecoyFile {
  std::string_view path;     // "/index.html"
  std::string_view content;  // the file's bytes; static storage, lives forever
};

extern const DecoyFile kDecoyFiles[];
extern const size_t kDecoyFileCount;

}  // namespace parley::server
