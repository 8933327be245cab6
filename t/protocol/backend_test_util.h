// Helpers shared by the backend codec tests (ascii, meta, binary): encode a
// request with a fresh codec, then feed it a reply whole or one byte at a
// time. The codec is made by the factory each test passes
// (make_ascii_backend_codec, make_meta_backend_codec), so that every backend
// protocol's tests drive their codec the same way; the binary test, which
// answers the frames it saw sent, uses decode_bytewise alone.
//
// Header only, apart from test_util.cc: the fuzz targets link test_util.cc
// without CppUnit, and these helpers assert.
#pragma once

#include <cppunit/extensions/HelperMacros.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "src/protocol/backend_codec.h"
#include "src/protocol/request.h"
#include "src/util/byte_chain.h"

namespace moxi::protocol::test {

// make_ascii_backend_codec, make_meta_backend_codec (their default value limit).
using BackendCodecFactory = std::unique_ptr<BackendCodec> (*)(uint32_t max_value_length);

// What `codec` writes for `op`.
inline std::string encode(BackendCodec& codec, BackendOp& op) {
  ByteChain out;
  codec.encode(op, out);
  return out.str();
}

// Encodes `req` (all keys) with a codec of `factory`, then feeds `reply`
// whole; returns the decode status, the bytes left in the buffer (`left`)
// and what was sent (`sent`).
inline BackendDecode roundtrip(BackendCodecFactory factory, Request& req, std::string_view reply,
                               size_t* left = nullptr, std::string* sent = nullptr) {
  auto codec = factory(kDefaultBackendValueMax);
  BackendOp op;
  op.request = &req;
  std::string s = encode(*codec, op);
  if (sent) *sent = s;
  ByteChain in;
  in.append(reply);
  BackendDecode d = codec->decode(op, in);
  if (left) *left = in.size();
  return d;
}

// Feeds `reply` to `codec` one byte at a time, through `in`, decoding after
// each byte: it must finish exactly at the last byte.
inline BackendDecode decode_bytewise(BackendCodec& codec, BackendOp& op, ByteChain& in, std::string_view reply) {
  BackendDecode d = BackendDecode::NeedMore;
  for (size_t i = 0; i < reply.size(); ++i) {
    in.append(reply.substr(i, 1));
    d = codec.decode(op, in);
    if (d != BackendDecode::NeedMore) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE("finished early", reply.size(), i + 1);
      return d;
    }
  }
  return d;
}

// Like roundtrip, feeding the reply one byte at a time (decode_bytewise).
inline BackendDecode trickle(BackendCodecFactory factory, Request& req, std::string_view reply) {
  auto codec = factory(kDefaultBackendValueMax);
  BackendOp op;
  op.request = &req;
  encode(*codec, op);
  ByteChain in;
  return decode_bytewise(*codec, op, in, reply);
}

}  // namespace moxi::protocol::test
