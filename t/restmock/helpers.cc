#include "t/restmock/helpers.h"

#include <cppunit/extensions/HelperMacros.h>
#include <rapidjson/error/en.h>

#include <cstdlib>

namespace moxi::test {

RestMock& shared_rest_mock() {
  static RestMock mock;
  return mock;
}

rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  CPPUNIT_ASSERT_MESSAGE(std::string("not JSON (") + rapidjson::GetParseError_En(d.GetParseError()) + "): " + text,
                         !d.HasParseError());
  return d;
}

bool is_json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  return !d.HasParseError();
}

std::vector<std::string> decode_chunks(const std::string& raw, bool* terminated) {
  std::vector<std::string> chunks;
  if (terminated) *terminated = false;
  std::size_t pos = 0;
  for (;;) {
    auto eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) return chunks;
    const std::string size_text = raw.substr(pos, eol - pos);
    char* end = nullptr;
    const unsigned long size = std::strtoul(size_text.c_str(), &end, 16);
    CPPUNIT_ASSERT_MESSAGE("bad chunk size line '" + size_text + "' in: " + raw,
                           !size_text.empty() && end && *end == '\0');
    const std::size_t data = eol + 2;
    if (size == 0) {
      if (terminated) *terminated = raw.compare(data, 2, "\r\n") == 0;
      return chunks;
    }
    if (raw.size() < data + size + 2) return chunks;  // not complete yet
    CPPUNIT_ASSERT_MESSAGE("chunk data not followed by CRLF in: " + raw, raw.compare(data + size, 2, "\r\n") == 0);
    chunks.push_back(raw.substr(data, size));
    pos = data + size + 2;
  }
}

std::string bucket_config(const std::string& name, const std::vector<std::string>& servers) {
  std::string list, map;
  for (std::size_t i = 0; i < servers.size(); ++i) {
    list += (i ? ",\"" : "\"") + servers[i] + "\"";
    map += (i ? ",[" : "[") + std::to_string(i) + "]";
  }
  return R"({"name":")" + name +
         R"(","nodeLocator":"vbucket","vBucketServerMap":{"hashAlgorithm":"CRC","numReplicas":0,"serverList":[)" +
         list + R"(],"vBucketMap":[)" + map + "]}}";
}

std::vector<std::string> server_list(const rapidjson::Value& bucket) {
  CPPUNIT_ASSERT(bucket.IsObject());
  auto map = bucket.FindMember("vBucketServerMap");
  CPPUNIT_ASSERT_MESSAGE("no vBucketServerMap", map != bucket.MemberEnd() && map->value.IsObject());
  auto list = map->value.FindMember("serverList");
  CPPUNIT_ASSERT_MESSAGE("no serverList", list != map->value.MemberEnd() && list->value.IsArray());
  std::vector<std::string> out;
  for (const auto& s : list->value.GetArray()) {
    CPPUNIT_ASSERT(s.IsString());
    out.emplace_back(s.GetString(), s.GetStringLength());
  }
  return out;
}

std::string string_member(const rapidjson::Value& object, const char* name) {
  CPPUNIT_ASSERT(object.IsObject());
  auto it = object.FindMember(name);
  CPPUNIT_ASSERT_MESSAGE(std::string("no string member ") + name, it != object.MemberEnd() && it->value.IsString());
  return {it->value.GetString(), it->value.GetStringLength()};
}

}  // namespace moxi::test
