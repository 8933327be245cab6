// Internal (not part of the public API): reads a config file into memory.
//
// Thread-safety: no shared state.
#pragma once

#include <string>

#include "vbucket/result.h"

namespace moxi::vbucket::detail {

// libvbucket's limit; a real bucket config is a few hundred KiB at most.
inline constexpr size_t kMaxConfigFileBytes = 100u * 1024 * 1024;

// The whole file, or "cannot read: <reason>" / "file is larger than 100 MiB".
// The message does not repeat the path; callers prefix it.
Result<std::string> read_text_file(const std::string& path) noexcept;

}  // namespace moxi::vbucket::detail
