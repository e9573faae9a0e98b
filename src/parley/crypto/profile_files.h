// Safe file I/O for the client profile: private directory, atomic durable writes,
// bounded reads. Used by the identity key and the identity store.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "parley/base/result.h"

namespace parley::crypto {

// Creates `dir` (and parents) if missing; the last component is made mode 0700.
// Fails if it exists but is not a directory.
Status EnsurePrivateDirectory(const std::filesystem::path& dir);

// Replaces `path` atomically: writes PATH.tmp-XXXXXX (mode 0600) in the same
// directory, fsyncs it, renames it over `path`, fsyncs the directory. A crash at any
// point leaves either the old or the new contents, never a mix or nothing.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents);

// Reads a whole file of at most `max_size` bytes. `not_found` is set when it does
// not exist (that is not an error for callers that create on first use).
Result<std::string> ReadSmallFile(const std::filesystem::path& path, std::size_t max_size,
                                  bool* not_found = nullptr);

// Fails if group or others have any permission on `path` (e.g. mode 0644).
Status CheckOwnerOnly(const std::filesystem::path& path);

}  // namespace parley::crypto
