// Reading one document from a file, for the config cache and the file
// source: the whole file with a size cap, surrounding white space trimmed.
//
// Thread-safety: pure function (reads the file system).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace moxi::conflate {

// nullopt with an empty `error` when the file does not exist; nullopt with
// `error` set ("cannot read WHAT PATH: reason", "WHAT PATH is empty",
// "WHAT PATH is larger than N bytes") when it cannot be read, holds only
// white space, or is larger than `max_bytes`. `what` names the file in
// messages, e.g. "config file".
std::optional<std::string> read_document_file(const std::string& path, std::size_t max_bytes, std::string_view what,
                                              std::string& error);

}  // namespace moxi::conflate
