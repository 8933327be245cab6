#include "t/protocol/test_util.h"

#include <cstdio>

#include "src/protocol/binary_format.h"

namespace moxi::protocol::test {

std::string take(ByteChain& buf) {
  std::string out = buf.str();
  buf.clear();
  return out;
}

std::string be32(uint32_t v) {
  std::string s(4, '\0');
  binary::put32(reinterpret_cast<uint8_t*>(s.data()), v);
  return s;
}

std::string be64(uint64_t v) {
  std::string s(8, '\0');
  binary::put64(reinterpret_cast<uint8_t*>(s.data()), v);
  return s;
}

std::string encode_frame(const Frame& f) {
  binary::Header h;
  h.magic = f.magic;
  h.opcode = f.opcode;
  h.key_length = static_cast<uint16_t>(f.key.size());
  h.extras_length = static_cast<uint8_t>(f.extras.size());
  h.data_type = f.data_type;
  h.vbucket_or_status = f.vbucket_or_status;
  h.body_length = f.body_length_override >= 0 ? static_cast<uint32_t>(f.body_length_override)
                                              : static_cast<uint32_t>(f.extras.size() + f.key.size() + f.value.size());
  h.opaque = f.opaque;
  h.cas = f.cas;
  std::string out(binary::kHeaderSize, '\0');
  binary::encode_header(h, reinterpret_cast<uint8_t*>(out.data()));
  return out + f.extras + f.key + f.value;
}

std::vector<Frame> parse_frames(std::string bytes, std::string* rest) {
  std::vector<Frame> frames;
  size_t at = 0;
  while (bytes.size() - at >= binary::kHeaderSize) {
    binary::Header h = binary::decode_header(reinterpret_cast<const uint8_t*>(bytes.data() + at));
    if (bytes.size() - at < binary::kHeaderSize + h.body_length) break;
    Frame f;
    f.magic = h.magic;
    f.opcode = h.opcode;
    f.vbucket_or_status = h.vbucket_or_status;
    f.opaque = h.opaque;
    f.cas = h.cas;
    f.data_type = h.data_type;
    size_t p = at + binary::kHeaderSize;
    f.extras = bytes.substr(p, h.extras_length);
    f.key = bytes.substr(p + h.extras_length, h.key_length);
    f.value = bytes.substr(p + h.extras_length + h.key_length, h.body_length - h.extras_length - h.key_length);
    frames.push_back(f);
    at += binary::kHeaderSize + h.body_length;
  }
  if (rest) *rest = bytes.substr(at);
  return frames;
}

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 32 || c > 126) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}


std::string describe(const Request& req) {
  std::string s(protocol::op_name(req.op));
  if (req.op == Op::Invalid) {
    s += " class=" + std::to_string(static_cast<int>(req.error_class)) + " text=" + req.error_text +
         " status=" + std::to_string(static_cast<int>(req.error_status));
  }
  s += " keys=[";
  for (size_t i = 0; i < req.key_count(); ++i) s += (i ? "," : "") + std::string(req.key(i));
  s += "]";
  if (req.protocol == Protocol::Binary) {
    s += " opcode=" + std::to_string(req.opcode) + " opaque=" + std::to_string(req.opaque) +
         " quiet=" + std::to_string(req.quiet) + " return_key=" + std::to_string(req.return_key);
  }
  s += " noreply=" + std::to_string(req.noreply) + " cas?=" + std::to_string(req.want_cas) +
       " flags=" + std::to_string(req.flags) + " exptime=" + std::to_string(req.exptime) +
       " cas=" + std::to_string(req.cas) + " delta=" + std::to_string(req.delta) +
       " initial=" + std::to_string(req.initial) + " create=" + std::to_string(req.create) +
       " has_exptime=" + std::to_string(req.has_exptime) + " verbosity=" + std::to_string(req.verbosity) +
       " stats_args=" + req.stats_args + " close=" + std::to_string(req.close_after) +
       " value=" + printable(req.value.str());
  if (req.meta.command != MetaCommand::None) {
    s += " meta=" + std::to_string(static_cast<int>(req.meta.command)) + " mflags=";
    for (const auto& f : req.meta.flags) s += std::string(1, f.letter) + f.token + ",";
    s += " q=" + std::to_string(req.meta.quiet) + " b=" + std::to_string(req.meta.base64_key) +
         " mode=" + (req.meta.mode ? std::string(1, req.meta.mode) : std::string("-")) + " line=" + printable(req.meta.line);
  }
  return s;
}

Decoded decode_stream(ClientCodec& codec, std::string_view input, const std::vector<size_t>& cuts) {
  Decoded d;
  ByteChain in;
  Request req;
  size_t at = 0;
  std::vector<size_t> points = cuts;
  points.push_back(input.size());
  for (size_t cut : points) {
    if (cut < at) continue;
    in.append(input.substr(at, cut - at));
    at = cut;
    for (;;) {
      req.reset();
      DecodeStatus st = codec.decode(in, req);
      if (st == DecodeStatus::NeedMore) break;
      // After a close the rest of the input is never decoded; count it as
      // left over whatever had arrived, so the result does not depend on
      // the cuts.
      if (st == DecodeStatus::Close) {
        d.closed = true;
        d.left = in.size() + (input.size() - at);
        return d;
      }
      d.requests.push_back(describe(req));
      if (req.close_after) {
        d.left = in.size() + (input.size() - at);
        return d;
      }
    }
  }
  d.left = in.size();
  return d;
}

DecodeStatus decode_one(ClientCodec& codec, std::string_view input, Request& req, size_t* left) {
  ByteChain in;
  in.append(input);
  req.reset();
  DecodeStatus st = codec.decode(in, req);
  if (left) *left = in.size();
  return st;
}

}  // namespace moxi::protocol::test
