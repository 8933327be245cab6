// moxi following rest_mock, for the tests that serve it a document: the
// mock's options for a document, and moxi on its gateway stream.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "t/support/rest_mock.h"
#include "t/support/servers.h"

namespace moxi::test {

// rest_mock serving `json` (any config shape, rest_mock/README.md).
inline RestMockOptions mock_serving(std::string json) {
  RestMockOptions o;
  o.config_json = std::move(json);
  return o;
}

// moxi on 127.0.0.1 (port_listen=0, -vv) following the mock's
// saslBucketsStreaming, with more -Z `behaviors` ("" for none).
inline std::unique_ptr<Moxi> gateway_moxi(const RestMock& mock, const std::string& behaviors = "", int threads = 2) {
  std::vector<std::string> args = {"-l", "127.0.0.1", "-t", std::to_string(threads), "-vv", "-Z",
                                   "port_listen=0" + (behaviors.empty() ? "" : "," + behaviors)};
  args.push_back(mock.url("/pools/default/saslBucketsStreaming"));
  return std::make_unique<Moxi>(args);
}

}  // namespace moxi::test
