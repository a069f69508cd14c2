// The report in a real browser: headless Chromium (Debian package `chromium`) loads the page of a
// small run from a file:// URL, runs its render check and takes a screenshot. Skipped, saying
// why, when Chromium is not installed (scripts/setup.sh installs it).
#include <gtest/gtest.h>
#include <png.h>

#include <cstdio>
#include <memory>
#include <regex>
#include <string>

#include "lowbit/util/shell.h"
#include "report/trained_run.h"

namespace lowbit::report {
namespace {

// Chromium's name on Debian, or "" when it is not installed.
std::string chromium() {
  for (const char* name : {"chromium", "chromium-browser"}) {
    if (util::on_path(name)) return name;
  }
  return "";
}

// Headless flags for a container: no GPU, no sandbox (root), no first-run work, and a private
// profile so that parallel runs do not share state.
std::string headless(const std::string& profile) {
  return chromium() +
         " --headless --disable-gpu --no-sandbox --no-first-run --no-default-browser-check "
         "--disable-extensions --disable-background-networking --user-data-dir=" +
         util::shell_quote(profile) + " --enable-logging=stderr --v=0 ";
}

// Non-white pixels of an RGBA/RGB PNG file, -1 when it cannot be read.
int64_t ink_pixels(const std::string& path, int64_t& width, int64_t& height) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) return -1;
  image.format = PNG_FORMAT_RGB;
  std::vector<unsigned char> pixels(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) return -1;
  width = image.width;
  height = image.height;
  int64_t ink = 0;
  for (size_t i = 0; i + 2 < pixels.size(); i += 3) {
    if (pixels[i] < 200 || pixels[i + 1] < 200 || pixels[i + 2] < 200) ++ink;
  }
  return ink;
}

class Browser : public ::testing::Test {
 protected:
  void SetUp() override {
    if (chromium().empty()) {
      GTEST_SKIP() << "chromium is not installed (Debian: apt-get install chromium, or "
                      "scripts/setup.sh): the browser test of the report is skipped";
    }
    run_ = testing::trained_run();
    ASSERT_FALSE(run_.empty());
    page_ = run_ + "/report.html";
    ASSERT_TRUE(cli::testing::exists(page_));
  }
  std::string run_;
  std::string page_;
};

TEST_F(Browser, EveryPlotRendersWithoutConsoleErrors) {
  const std::string dir = testing::run_folder().path();
  const std::string dom = dir + "/dom.html";
  const std::string log = dir + "/chromium.log";
  const int status = std::system(("timeout 120 " + headless(dir + "/profile-dom") + "--dump-dom " +
                                  util::shell_quote("file://" + page_) + " >" +
                                  util::shell_quote(dom) + " 2>" + util::shell_quote(log))
                                     .c_str());
  ASSERT_EQ(status, 0) << util::read_log(log);
  const std::string text = util::read_file(dom);
  // The page's own script counted the plots whose drawing has a non-empty box.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      text, m, std::regex("id=\"render-check\" data-plots=\"(\\d+)\" data-rendered=\"(\\d+)\"")))
      << text.substr(0, 2000);
  EXPECT_EQ(m[1].str(), "19");
  EXPECT_EQ(m[2].str(), m[1].str()) << "plots with empty geometry";
  EXPECT_NE(text.find(">19 of 19 plots rendered<"), std::string::npos);
  const std::string console = util::read_log(log);
  EXPECT_EQ(console.find("Uncaught"), std::string::npos) << console;
  EXPECT_EQ(console.find(":ERROR:CONSOLE"), std::string::npos) << console;
}

TEST_F(Browser, ScreenshotIsNotBlank) {
  const std::string dir = testing::run_folder().path();
  const std::string shot = dir + "/shot.png";
  const std::string log = dir + "/shot.log";
  const int status = std::system(
      ("timeout 120 " + headless(dir + "/profile-shot") +
       "--hide-scrollbars --window-size=1280,1600 --screenshot=" + util::shell_quote(shot) + " " +
       util::shell_quote("file://" + page_) + " >" + util::shell_quote(log) + " 2>&1")
          .c_str());
  ASSERT_EQ(status, 0) << util::read_log(log);
  int64_t width = 0, height = 0;
  const int64_t ink = ink_pixels(shot, width, height);
  ASSERT_GE(ink, 0) << "cannot read " << shot;
  EXPECT_EQ(width, 1280);
  EXPECT_EQ(height, 1600);
  // Headings, axes, curves and bars: well over 1% of the window is drawn.
  EXPECT_GT(ink, width * height / 100) << ink << " non-white pixels";
}

}  // namespace
}  // namespace lowbit::report
