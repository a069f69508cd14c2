// The zip reader that .npz files and LibTorch checkpoints share, on archives the tests write.
#include "lowbit/util/zip_archive.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/zip_writer.h"

namespace lowbit::util {
namespace {

using data::testing::Member;
using data::testing::zip_bytes;
using data::testing::ZipLayout;

// The ZipError message of check_zip_archive(archive, options); fails the test when none.
std::string error_of(const std::string& archive, const ZipOptions& options = {}) {
  try {
    check_zip_archive(archive, options);
  } catch (const ZipError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ZipError";
  return "";
}

const std::vector<Member> kMembers = {{"a.bin", std::string(3000, 'a') + "end", 8},
                                      {"dir/b.txt", "stored text", 0}};

TEST(ZipArchive, MembersAndTheirBytesInEveryLayout) {
  ZipLayout zip64;
  zip64.zip64 = true;
  for (const ZipLayout& layout : {ZipLayout{}, zip64}) {
    const std::string archive = zip_bytes(kMembers, layout);
    const std::vector<ZipMember> members = zip_members(archive);
    ASSERT_EQ(members.size(), 2u);
    EXPECT_EQ(members[0].name, "a.bin");
    EXPECT_EQ(members[0].method, 8);
    EXPECT_EQ(members[0].uncompressed, 3003u);
    EXPECT_LT(members[0].compressed, 100u);  // 3000 equal bytes deflate to a few
    EXPECT_EQ(zip_member_bytes(archive, members[0]), kMembers[0].data);
    EXPECT_EQ(members[1].name, "dir/b.txt");
    EXPECT_EQ(zip_member_bytes(archive, members[1]), "stored text");
    EXPECT_NO_THROW(check_zip_archive(archive));
  }
}

TEST(ZipArchive, ACommentIsReadOnlyWhereAllowed) {
  ZipLayout commented;
  commented.comment = "a comment";
  const std::string archive = zip_bytes(kMembers, commented);
  ZipOptions allow;
  allow.allow_comment = true;
  EXPECT_NO_THROW(check_zip_archive(archive, allow));
  EXPECT_NE(error_of(archive).find("no zip end record at the end of the file"), std::string::npos);
}

TEST(ZipArchive, DamageIsFoundInTheDataOfEveryMember) {
  const std::string good = zip_bytes(kMembers);
  // A flipped byte of the stored member's data (after a.bin's header and deflate data).
  std::string stored = good;
  stored[good.find("stored text") + 3] ^= 0x20;
  EXPECT_NE(error_of(stored).find("member 'dir/b.txt' fails its CRC-32 check"), std::string::npos);
  // A flipped bit in the deflate data: a broken stream or other bytes, whichever zlib sees.
  std::string deflated = good;
  deflated[30 + 5 + 2] ^= 0x10;
  EXPECT_NE(error_of(deflated).find("member 'a.bin'"), std::string::npos) << error_of(deflated);
  // Cut short anywhere: never a read past the end.
  for (size_t keep = 0; keep < good.size(); keep += 7) {
    EXPECT_THROW(check_zip_archive(good.substr(0, keep)), ZipError) << keep;
  }
}

TEST(ZipArchive, InflationBeyondTheAllowedFactorIsRefusedBeforeInflating) {
  // 1 MB of zeros deflates to about 1 kB: 1000 times the archive, over a factor of 16.
  const std::string archive = zip_bytes({{"zeros", std::string(size_t{1} << 20, '\0'), 8}});
  ZipOptions strict;
  strict.max_inflation_factor = 16;
  EXPECT_NE(error_of(archive, strict).find("member 'zeros' takes the members over 65536"),
            std::string::npos)
      << error_of(archive, strict);
  EXPECT_NO_THROW(check_zip_archive(archive));  // deflate's own bound, 1032 times, holds
}

}  // namespace
}  // namespace lowbit::util
