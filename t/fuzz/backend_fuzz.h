// The body of fuzz_ascii_backend, fuzz_binary_backend and fuzz_meta_backend: encode a request
// for a backend, then decode the fuzz input as the backend's reply(ies).
//
// Input: byte 0 picks the request (op), byte 1 its details (client protocol,
// key count, key subset, cas, vBuckets); the rest is the reply stream, fed in
// pieces cut at points drawn from the input's hash. After Done, leftover
// bytes answer a next op built from the same recipe (at most 16 ops).
#pragma once

#include <memory>
#include <string_view>

#include "src/protocol/backend_codec.h"
#include "src/protocol/client_codec.h"
#include "src/util/byte_chain.h"
#include "t/fuzz/fuzz_util.h"

namespace moxi::fuzz {

using namespace moxi::protocol;

inline void build_request(uint8_t recipe, uint8_t details, Request& req, BackendOp& op) {
  static constexpr Op kOps[] = {Op::Get,    Op::Gat,   Op::Set,   Op::Add,   Op::Replace, Op::Append,
                                Op::Prepend, Op::Incr, Op::Decr,  Op::Delete, Op::Touch, Op::Flush,
                                Op::Stats,  Op::Version, Op::Verbosity, Op::Noop, Op::Quit, Op::ClusterConfig};
  static constexpr std::string_view kKeys[] = {"a", "bb", "key with space", "k\x01"};
  req.reset();
  op.reset();
  req.op = kOps[recipe % std::size(kOps)];
  req.protocol = (details & 1) ? Protocol::Binary : Protocol::Ascii;
  const bool keyed = req.op != Op::Flush && req.op != Op::Stats && req.op != Op::Version &&
                     req.op != Op::Verbosity && req.op != Op::Noop && req.op != Op::Quit &&
                     req.op != Op::ClusterConfig;
  if (keyed) {
    const bool multi = req.op == Op::Get || req.op == Op::Gat;
    const size_t n = multi ? 1 + ((details >> 1) & 3) : 1;
    const bool odd_keys = details & 8;  // keys ascii cannot carry
    for (size_t i = 0; i < n; ++i) req.add_key(kKeys[odd_keys ? (i + 2) % 4 : i % 2]);
    if (multi && (details & 16) && n > 1)
      for (uint32_t i = 0; i < n; i += 2) op.key_indexes.push_back(i);
    if (details & 32)
      for (size_t i = 0; i < n; ++i) req.vbuckets.push_back(static_cast<uint16_t>(i * 7));
  }
  if (details & 64) req.cas = 12345;
  if (details & 128) {
    req.create = true;
    req.initial = 7;
  }
  req.delta = 3;
  req.flags = 9;
  req.exptime = (recipe & 0x80) ? -1 : 100;
  req.want_cas = recipe & 0x40;
  if (req.op == Op::Stats && (recipe & 0x20)) req.stats_args = "slabs";
  if (req.op == Op::Flush && (recipe & 0x20)) req.has_exptime = true;
  if (req.op == Op::Set || req.op == Op::Add || req.op == Op::Replace || req.op == Op::Append ||
      req.op == Op::Prepend)
    req.value.append("hello\r\nworld");
  req.prepare_results();
  op.request = &req;
}

inline void fuzz_backend(Protocol backend, const uint8_t* data, size_t size) {
  if (size < 2) return;
  const std::string_view reply(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::unique_ptr<BackendCodec> codec = backend == Protocol::Binary ? make_binary_backend_codec()
                                        : backend == Protocol::Meta ? make_meta_backend_codec()
                                                                    : make_ascii_backend_codec();
  Request req;
  BackendOp op;
  ByteChain in, sent, client_out;

  std::vector<size_t> points = cuts(hash(reply), reply.size());
  points.push_back(reply.size());
  size_t at = 0, next = 0;
  for (int ops = 0; ops < 16; ++ops) {
    build_request(data[0], data[1], req, op);
    codec->encode(op, sent);
    sent.clear();
    BackendDecode st = BackendDecode::NeedMore;
    for (;;) {
      st = codec->decode(op, in);
      if (st != BackendDecode::NeedMore || next == points.size()) break;
      in.append(reply.substr(at, points[next] - at));
      at = points[next++];
    }
    if (st != BackendDecode::Done) return;
    // Hand the results to a client encoder, as the proxy would.
    if (req.protocol == Protocol::Ascii) {
      make_ascii_client_codec(Limits())->encode(req, client_out);
    } else if (req.key_count() <= 1) {
      make_binary_client_codec(Limits())->encode(req, client_out);
    }
    client_out.clear();
    if (in.empty() && next == points.size()) return;
  }
}

}  // namespace moxi::fuzz
