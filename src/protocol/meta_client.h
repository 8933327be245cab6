// memcached's meta commands (mg, ms, md, ma, me) from a client: the part of
// the ascii client codec that decodes their lines and encodes their replies
// (ascii_client.cc owns the connection's byte stream, reads ms's data block
// and answers "mn" itself). The exact behaviour is memcached 1.6.18's; see
// meta_client.cc.
//
// Thread: pure functions; the Request belongs to the caller's worker.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "src/protocol/request.h"

namespace moxi::protocol {

// What the ascii codec does after a meta line was decoded.
struct MetaLine {
  enum class Next : uint8_t {
    Done,         // `req` is complete (a request, or an Op::Invalid to answer): drain the line
    ReadData,     // ms: `req` holds op, key and flags; `data_length` bytes and "\r\n" follow the line
    SwallowData,  // ms refused after its length was read: `req` is the Op::Invalid to answer, and
                  // the `data_length` + 2 bytes after the line are discarded, as memcached does
  };
  Next next = Next::Done;
  size_t data_length = 0;
};

// Decodes one meta command line. `tokens` are its space-separated tokens
// (tokens[0] is "mg", "ms", "md", "ma" or "me"); `more` says the line had
// more tokens than `tokens` holds (memcached refuses it then anyway);
// `line` is the whole line, kept for a meta backend to relay. For ms the
// caller checks the data length against the item size limit
// (SERVER_ERROR object too large for cache) and reads the data block.
MetaLine decode_meta_line(std::span<const std::string_view> tokens, bool more, std::string_view line,
                          const Limits& limits, Request& req);

// Appends the reply to a meta request (req.meta.command != None, op not
// Invalid): a meta backend's reply verbatim, otherwise memcached's reply
// built from the op's result, with the return flags in request order.
void encode_meta_reply(const Request& req, ByteChain& out);

// memcached's base64 decoding of a b key (not RFC 4648's strict form: bytes
// outside the alphabet are skipped, decoding ends after the first padded
// quantum, and a count of alphabet bytes that is not a multiple of 4, or a
// quantum of padding alone, fails). False on failure; `out` holds the bytes.
bool decode_meta_base64_key(std::string_view text, std::string& out);

}  // namespace moxi::protocol
