#include "t/support/tls_files.h"

#include <cppunit/TestAssert.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "t/support/process.h"

namespace moxi::test {

namespace {

void must(const std::vector<std::string>& argv) {
  const ToolRun run = run_tool(argv);
  std::string line;
  for (const auto& a : argv) line += a + " ";
  CPPUNIT_ASSERT_EQUAL_MESSAGE(line + "\n" + run.output, 0, run.status);
}

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

}  // namespace

TlsFiles::TlsFiles() {
  const std::string d = dir_.path();
  // A CA of `openssl ca`'s own (index, serial), so certificates can carry
  // any dates: the expired one is valid from 2020-01-01 to 2020-01-02.
  write(d + "/index.txt", "");
  write(d + "/serial", "1000\n");
  write(d + "/ca.cnf",
        "[ ca ]\ndefault_ca = test\n"
        "[ test ]\ndatabase = " + d + "/index.txt\nnew_certs_dir = " + d + "\ncertificate = " + d +
            "/ca.pem\nprivate_key = " + d + "/ca.key\nserial = " + d +
            "/serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\ncopy_extensions = none\n"
            "[ any ]\ncommonName = supplied\n"
            "[ server ]\nsubjectAltName = DNS:localhost,IP:127.0.0.1\nextendedKeyUsage = serverAuth\n"
            "[ wrong ]\nsubjectAltName = DNS:wrong.example\nextendedKeyUsage = serverAuth\n"
            "[ client ]\nextendedKeyUsage = clientAuth\n");
  ca_ = d + "/ca.pem";
  must({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/ca.key", "-out", ca_, "-days", "2",
        "-subj", "/CN=moxi test CA"});
  server_ = issue("server", "server", "");
  other_ = issue("other", "server", "");
  expired_ = issue("expired", "server", "expired");
  wrong_host_ = issue("wrong", "wrong", "");
  client_ = issue("client", "client", "");
  // A client certificate of a CA moxi does not trust: self-signed.
  stranger_ = {d + "/stranger.pem", d + "/stranger.key"};
  must({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", stranger_.key, "-out", stranger_.cert,
        "-days", "2", "-subj", "/CN=stranger"});
}

TlsFiles::Pair TlsFiles::issue(const std::string& name, const std::string& extensions, const std::string& dates) {
  const std::string d = dir_.path();
  Pair p{d + "/" + name + ".pem", d + "/" + name + ".key"};
  must({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", p.key, "-out", d + "/" + name + ".csr", "-subj",
        "/CN=" + (extensions == "client" ? std::string("moxi test client") : std::string("localhost"))});
  std::vector<std::string> argv = {"openssl", "ca", "-batch", "-notext", "-config", d + "/ca.cnf", "-in",
                                   d + "/" + name + ".csr", "-out", p.cert, "-extensions", extensions};
  if (dates == "expired") {
    argv.insert(argv.end(), {"-startdate", "20200101000000Z", "-enddate", "20200102000000Z"});
  } else {
    argv.insert(argv.end(), {"-days", "2"});
  }
  must(argv);
  return p;
}

std::string TlsFiles::serial(const std::string& cert) {
  const ToolRun run = run_tool({"openssl", "x509", "-in", cert, "-noout", "-serial"});
  CPPUNIT_ASSERT_EQUAL_MESSAGE(run.output, 0, run.status);
  std::string hex = run.output.substr(run.output.find('=') + 1);
  hex.erase(std::remove_if(hex.begin(), hex.end(), [](char c) { return c == '\n' || c == '\r'; }), hex.end());
  std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  hex.erase(0, std::min(hex.find_first_not_of('0'), hex.size() - 1));
  return hex;
}

}  // namespace moxi::test
