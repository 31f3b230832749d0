// Runs the `cachegen` binary (CACHEGEN_BIN) with arguments, for end-to-end tests.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace cachegen {

struct CliResult {
  int exit_code;
  std::string output;  // stdout and stderr
};

inline CliResult run_cli(const std::string& arguments) {
  FILE* pipe = popen((std::string(CACHEGEN_BIN) + " " + arguments + " 2>&1").c_str(), "r");
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe))
    output.append(buffer, n);
  return {WEXITSTATUS(pclose(pipe)), output};
}

}  // namespace cachegen
