// The body of fuzz_ascii_client, fuzz_binary_client and fuzz_meta_client: decode a client
// stream like a connection would, encode a reply for every request, and check
// the decoders' split property (t/protocol/split_property_test.cc): cutting
// the stream into reads anywhere gives the same requests.
#pragma once

#include <string>
#include <string_view>

#include "src/protocol/client_codec.h"
#include "src/util/byte_chain.h"
#include "t/fuzz/fuzz_util.h"
#include "t/protocol/test_util.h"

namespace moxi::fuzz {

using namespace moxi::protocol;

// Small limits, so short inputs reach the "too large" / "too long" paths.
inline Limits fuzz_limits() {
  Limits l;
  l.max_value_length = 64;
  l.max_line_length = 256;
  l.get_part_bytes = 64;  // long get lines split into parts often
  return l;
}

// Fills the results an encoder expects (hits, misses, errors, stats, the
// version), varied by `seed`.
inline void fill_results(Request& req, uint64_t seed) {
  req.prepare_results();
  for (size_t i = 0; i < req.results.size(); ++i) {
    Result& r = req.results[i];
    switch ((seed >> (2 * (i % 32))) & 3) {
      case 0:
        r.hit = true;
        r.flags = static_cast<uint32_t>(i);
        r.cas = seed;
        r.number = seed >> 8;
        r.value.append("value");
        break;
      case 1: r.status = Status::KeyNotFound; break;
      case 2: r.server_error(Status::InternalError, "proxy downstream timeout"); break;
      default: r.status = Status::NotStored; break;
    }
  }
  if (req.op == Op::Version) {
    req.results[0].reset();
    req.results[0].message = "1.6.0";
  }
  if (req.op == Op::Stats) req.stats = {{"pid", "1"}, {"curr_items", "2"}};
  // A meta request, every other seed: what a meta backend answered, relayed
  // verbatim (a value, a bare status, or nothing for an elided quiet reply).
  if (req.meta.command != MetaCommand::None && (seed >> 63) != 0) {
    for (size_t i = 0; i < req.results.size(); ++i) {
      Result& r = req.results[i];
      r.reset();
      r.meta_reply = true;
      switch ((seed >> (2 * (i % 32))) & 3) {
        case 0:
          r.message = "VA 5 f3 t-1";
          r.value.append("value");
          break;
        case 1: r.message = "EN"; break;
        case 2: break;  // elided
        default: r.message = "HD c7"; break;
      }
    }
  }
}

inline void fuzz_client(bool binary, const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const uint64_t seed = hash(input);
  auto fresh = [&] { return binary ? make_binary_client_codec(fuzz_limits()) : make_ascii_client_codec(fuzz_limits()); };

  // Like a connection: decode until NeedMore/Close, answer each request.
  auto codec = fresh();
  ByteChain in, out;
  in.append(input);
  Request req;
  size_t stuck = 0;
  for (;;) {
    const size_t before = in.size();
    req.reset();
    if (codec->decode(in, req) != DecodeStatus::Ready) break;
    stuck = in.size() < before ? 0 : stuck + 1;
    if (stuck > 16) fail("decode keeps returning Ready without consuming input");
    fill_results(req, seed);
    codec->encode(req, out);
    out.clear();
    if (req.close_after) break;
  }

  // The split property.
  auto whole_codec = fresh(), split_codec = fresh();
  const test::Decoded whole = test::decode_stream(*whole_codec, input);
  const test::Decoded split = test::decode_stream(*split_codec, input, cuts(seed, size));
  // After a request with close_after nothing more is read, so how much of
  // the rest was already drained (which does depend on the reads) is moot.
  const bool ended = whole.closed || (!whole.requests.empty() && whole.requests.back().find(" close=1 ") != std::string::npos);
  if (whole.requests != split.requests || whole.closed != split.closed || (!ended && whole.left != split.left)) {
    std::fprintf(stderr, "whole: %zu requests, closed %d, left %zu; split: %zu requests, closed %d, left %zu\n",
                 whole.requests.size(), whole.closed, whole.left, split.requests.size(), split.closed, split.left);
    for (size_t i = 0; i < whole.requests.size() || i < split.requests.size(); ++i) {
      if (i < whole.requests.size() && i < split.requests.size() && whole.requests[i] == split.requests[i]) continue;
      std::fprintf(stderr, "  #%zu whole: %s\n  #%zu split: %s\n", i,
                   i < whole.requests.size() ? whole.requests[i].c_str() : "-", i,
                   i < split.requests.size() ? split.requests[i].c_str() : "-");
      break;
    }
    fail("cutting the stream into reads changed the decoded requests");
  }
}

}  // namespace moxi::fuzz
