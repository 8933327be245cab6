#include "src/backend/backend_login.h"

#include <cstdio>

#include "src/protocol/request.h"

namespace moxi::backend {

namespace binary = protocol::binary;

BackendLogin::BackendLogin(Params params)
    : params_(std::move(params)), sasl_(std::make_unique<SaslClient>(params_.user, params_.password)) {}

BackendLogin::~BackendLogin() = default;

void BackendLogin::append_request(std::string& out, binary::Opcode opcode, std::string_view key,
                                  std::string_view value) {
  binary::Header h;
  h.magic = binary::kRequestMagic;
  h.opcode = static_cast<uint8_t>(opcode);
  h.key_length = static_cast<uint16_t>(key.size());
  h.body_length = static_cast<uint32_t>(key.size() + value.size());
  h.opaque = h.opcode;
  uint8_t raw[binary::kHeaderSize];
  binary::encode_header(h, raw);
  out.append(reinterpret_cast<const char*>(raw), sizeof raw);
  out.append(key);
  out.append(value);
}

void BackendLogin::start(std::string& out) {
  step_ = Step::ListMechs;
  append_request(out, binary::Opcode::SaslListMechs, "", "");
}

const char* BackendLogin::step_name() const {
  switch (step_) {
    case Step::SelectBucket: return "SELECT_BUCKET";
    case Step::Hello:
    case Step::HelloAgent: return "HELLO";
    case Step::ListMechs:
    case Step::Auth: return "SASL";
  }
  return "SASL";
}

void BackendLogin::send_hello(std::string_view agent, std::string& out) {
  using binary::Feature;
  std::string features;
  for (Feature f : {Feature::TcpNoDelay, Feature::Xerror, Feature::SelectBucket}) {
    const auto code = static_cast<uint16_t>(f);
    features.push_back(static_cast<char>(code >> 8));
    features.push_back(static_cast<char>(code & 0xff));
  }
  append_request(out, binary::Opcode::Hello, agent, features);
}

BackendLogin::Progress BackendLogin::after_hello(std::string& out) {
  if (!params_.select_bucket.empty()) {
    step_ = Step::SelectBucket;
    append_request(out, binary::Opcode::SelectBucket, params_.select_bucket, "");
    return Progress::Continue;
  }
  sasl_.reset();
  return Progress::Done;
}

BackendLogin::Progress BackendLogin::fail(std::string why) {
  error_ = std::move(why);
  sasl_.reset();
  return Progress::Failed;
}

BackendLogin::Progress BackendLogin::on_reply(uint16_t status, std::string_view value, std::string& out) {
  using protocol::Status;
  std::string next, error;
  char code[8];
  std::snprintf(code, sizeof code, "0x%02x", status);
  switch (step_) {
    case Step::ListMechs:
      if (status != 0)
        return fail(std::string("the server does not offer SASL (SASL_LIST_MECHS answered ") + code +
                    "): is it started with SASL?");
      if (!sasl_->start(value, mechanism_, next, error)) return fail(error);
      step_ = Step::Auth;
      append_request(out, binary::Opcode::SaslAuth, mechanism_, next);
      return Progress::Continue;
    case Step::Auth:
      if (status == static_cast<uint16_t>(Status::AuthContinue)) {
        if (!sasl_->step(value, next, error)) return fail(error);
        append_request(out, binary::Opcode::SaslStep, mechanism_, next);
        return Progress::Continue;
      }
      if (status != 0)
        return fail("user \"" + params_.user + "\" was refused (" + mechanism_ + ", status " + code + ")" +
                    (params_.refused_hint.empty() ? "" : ": " + params_.refused_hint));
      if (!sasl_->finish(value, error)) return fail(error);
      // Logged in: HELLO next (see the file comment).
      step_ = Step::Hello;
      send_hello("", out);
      return Progress::Continue;
    case Step::Hello:
    case Step::HelloAgent:
      if (status != 0) return after_hello(out);  // memcached: no HELLO; nothing is negotiated
      extended_errors_ = false;
      for (size_t i = 0; i + 1 < value.size(); i += 2) {
        const auto f = static_cast<uint16_t>((static_cast<uint8_t>(value[i]) << 8) | static_cast<uint8_t>(value[i + 1]));
        if (f == static_cast<uint16_t>(binary::Feature::Xerror)) extended_errors_ = true;
      }
      if (step_ == Step::Hello) {
        // A data node: say who we are (each HELLO lists the features again).
        step_ = Step::HelloAgent;
        send_hello(params_.agent, out);
        return Progress::Continue;
      }
      return after_hello(out);
    case Step::SelectBucket:
      if (status != 0)
        return fail("bucket \"" + params_.select_bucket + "\" cannot be selected by user \"" + params_.user +
                    "\" (SELECT_BUCKET answered " + code + ")");
      sasl_.reset();
      return Progress::Done;
  }
  return Progress::Continue;
}

}  // namespace moxi::backend
