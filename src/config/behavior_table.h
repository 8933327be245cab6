// The -Z key table, internal to src/config/: each key with the Behaviors
// field it sets. behavior_table.cc holds the table; it is the single source
// of every key's name, value kind, support, default text and help line
// (behavior_keys() gives the public part, for --help and the man page test).
// The default values themselves are Behaviors' member initializers
// (behaviors.h): the default texts here must say the same.
//
// Thread: any (constant data).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "src/config/behaviors.h"

namespace moxi::config {

using Field = std::variant<std::monostate, std::chrono::milliseconds Behaviors::*, uint32_t Behaviors::*, uint64_t Behaviors::*,
                           uint16_t Behaviors::*, std::optional<uint16_t> Behaviors::*, bool Behaviors::*, DownstreamProtocol Behaviors::*,
                           std::string Behaviors::*, std::optional<std::string> Behaviors::*>;

struct BehaviorEntry {
  BehaviorKeyInfo info;
  Field field;  // monostate for ignored keys
};

// Every entry, in the order of behavior_keys().
std::span<const BehaviorEntry> behavior_entries();
// The entry named `key` (a primary key or a synonym); nullptr when none.
const BehaviorEntry* find_behavior(std::string_view key);

}  // namespace moxi::config
