// Reading a secret (a password, a one-time code) from the controlling terminal without echo,
// for cgctl. Linux only for now: cgctl is built for the SOC's and analysts' Linux machines.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace cg::os {

// Writes `prompt` to the terminal, reads one line with echo off (restored afterwards, also when
// reading fails) and returns it without the line end. kUnavailable when there is no terminal
// (a script: use a file instead).
Result<std::string> ReadSecretFromTerminal(std::string_view prompt);

// Whether standard input is a terminal.
bool StdinIsTerminal();

}  // namespace cg::os
