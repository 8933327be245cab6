// vbuckettool's entry point; everything else is in vbuckettool.cc.
#include <iostream>
#include <string>
#include <vector>

#include "vbucket/vbuckettool.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return moxi::vbucket::run_vbuckettool(args, std::cin, std::cout, std::cerr);
}
