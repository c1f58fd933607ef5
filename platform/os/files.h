// The programs' own files (keys, spool, config, the SOC's data dir), on the host: durable
// writes and modes are the OS's business, so they live here (platform/linux/os/files.cpp;
// Windows gets its own). Checks never use these: they read the machine through
// platform::FileSystem so that --root works. The names stay in namespace cg, where every
// program has always called them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace cg {

// Reads a whole file, refusing one larger than max_bytes (kTooLarge).
Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes = 16u << 20);

// Writes via a temporary file in the same directory, fsyncs file and directory, renames.
// The file is created with `mode` (e.g. 0600 for keys) regardless of the umask.
Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);

// mkdir -p; the last component gets `mode` (e.g. 0700 for the agent state dir).
Status EnsureDirectory(const std::string& path, unsigned mode = 0755);

bool FileExists(const std::string& path);

// Appends `data` to the file (created with `mode` when missing) and flushes it to disk before
// returning (fdatasync / FlushFileBuffers): what returned OK survives a crash. A failed append
// may have written part of `data`.
Status AppendFileDurable(const std::string& path, std::string_view data, unsigned mode = 0640);

// Reads standard input to its end (a pipe or a redirected file; from a console, the first
// line), refusing more than max_bytes (kTooLarge); kUnavailable when the process has none.
// Not a path: "/dev/stdin" does not exist on Windows.
Result<std::string> ReadStandardInput(size_t max_bytes);

// Who besides the owner, root/SYSTEM and the administrators may read the file, as the OS's
// permissions say: nullopt when nobody, else a short description for a warning. Linux: the
// group and other mode bits ("mode 644"); Windows: an allow entry with read access in the
// file's DACL for Everyone, Users, Authenticated Users or Interactive, or no DACL at all.
Result<std::optional<std::string>> ReadableByOthers(const std::string& path);

}  // namespace cg
