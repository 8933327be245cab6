#include "t/fakebackend/fake_util.h"

#include <cstdio>

#include "t/support/oracle.h"

namespace moxi::test::fake {

namespace wire = protocol::binary;

BinaryPacket req(Op opcode, std::string key, std::string value, std::string extras, uint16_t vbucket, uint64_t cas,
                 uint32_t opaque) {
  BinaryPacket p = bin::request(op(opcode), std::move(key), std::move(value), std::move(extras), opaque, cas);
  p.vbucket_or_status = vbucket;
  return p;
}

std::string u32(uint32_t v) {
  uint8_t b[4];
  wire::put32(b, v);
  return std::string(reinterpret_cast<const char*>(b), sizeof b);
}

std::string set_extras(uint32_t flags, uint32_t exptime) { return u32(flags) + u32(exptime); }

std::string arith_extras(uint64_t delta, uint64_t initial, uint32_t exptime) {
  uint8_t b[20];
  wire::put64(b, delta);
  wire::put64(b + 8, initial);
  wire::put32(b + 16, exptime);
  return std::string(reinterpret_cast<const char*>(b), sizeof b);
}

uint32_t flags_of(const BinaryPacket& reply) {
  if (reply.extras.size() != 4) throw std::runtime_error("expected 4 bytes of flags in " + describe(reply));
  return wire::get32(reinterpret_cast<const uint8_t*>(reply.extras.data()));
}

uint64_t counter_of(const BinaryPacket& reply) {
  if (reply.value.size() != 8) throw std::runtime_error("expected an 8-byte counter in " + describe(reply));
  return wire::get64(reinterpret_cast<const uint8_t*>(reply.value.data()));
}

BinaryPacket call(TestClient& client, const BinaryPacket& request) {
  client.send_binary(request);
  return client.read_binary();
}

std::vector<BinaryPacket> read_through_noop(TestClient& client) {
  std::vector<BinaryPacket> out;
  for (;;) {
    out.push_back(client.read_binary());
    if (out.back().opcode == op(Op::Noop)) return out;
  }
}

std::string describe(const BinaryPacket& p) {
  char head[96];
  std::snprintf(head, sizeof head, "op=0x%02x status=0x%04x opaque=%u cas=%llu", p.opcode, p.status(), p.opaque,
                static_cast<unsigned long long>(p.cas));
  return std::string(head) + " ext='" + escape_bytes(p.extras) + "' key='" + escape_bytes(p.key) + "' value='" +
         escape_bytes(p.value) + "'";
}

}  // namespace moxi::test::fake
