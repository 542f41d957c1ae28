// train/source_version.h: the git commit loom was built from.
#pragma once

#include <string>

namespace loom {

// "<12 hex digits>", with "-dirty" when tracked files differed from that commit, "" when the tree
// was not a git checkout. Defined in the file cmake/source_version.cmake writes on every build.
std::string source_version();

}  // namespace loom
