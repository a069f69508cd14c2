// A check of a LibTorch archive (a zip file) before LibTorch parses it. Checkpoints of formats 1
// and 2 have no lowbit header with a hash of their bytes, and LibTorch's reader neither checks the
// members' CRC-32s nor survives every damaged archive (a mutated best.pt crashed it, see
// docs/results.md, "Fuzzing"), so their damage has to be found here first.
#pragma once

#include <string_view>

namespace lowbit::train {

/// Throws std::runtime_error saying what is wrong unless `bytes` are one complete zip archive:
/// the end records (zip64 too) at the very end, a central directory that fits before them, every
/// member's local header agreeing with it, and every member's stored or deflated data having its
/// recorded size and CRC-32. Allocates nothing in proportion to the sizes the archive claims.
void check_zip_archive(std::string_view bytes);

}  // namespace lowbit::train
