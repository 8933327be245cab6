// Shared by the rest_mock tests: one mock for the suites that only need the
// default setup, JSON and chunk decoding, and config documents.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "t/support/rest_mock.h"

namespace moxi::test {

// Started on first use, stopped at exit. Suites call reset() in setUp, so
// every test starts from the initial config with zeroed counters.
RestMock& shared_rest_mock();

// Parses JSON; the test fails, quoting the text, if it does not parse.
rapidjson::Document parse_json(const std::string& text);
bool is_json(const std::string& text);

// The complete chunks of a raw chunked body ("<hex>\r\n<data>\r\n"...), in
// order, without the terminating zero-length chunk; *terminated tells whether
// that was seen. A trailing incomplete chunk is left out. Fails the test on
// bad framing.
std::vector<std::string> decode_chunks(const std::string& raw, bool* terminated = nullptr);

// A compact bucket object: `name`, vBucket map with one vBucket per server.
std::string bucket_config(const std::string& name, const std::vector<std::string>& servers);

// doc["vBucketServerMap"]["serverList"] as strings.
std::vector<std::string> server_list(const rapidjson::Value& bucket);

std::string string_member(const rapidjson::Value& object, const char* name);

}  // namespace moxi::test
