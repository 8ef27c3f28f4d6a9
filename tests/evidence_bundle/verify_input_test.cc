// Reading a bundle file for xborder-verify: the mapped bytes are the file's, a file
// changed meanwhile is detected, and files that cannot be mapped are still read.
#include "controlplane/evidence/verify/verify_input.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"

namespace xborder::evidence::verify {
namespace {

class InputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("xb-verify-input-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& bytes) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(InputTest, MapsTheFileAndNoticesAChange) {
  std::string content(3 << 20, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 31);
  const std::string path = write("b.tar", content);
  auto b = readBundleFile(path);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->view(), content);
  EXPECT_TRUE(b->unchanged().ok());
  std::ofstream(path, std::ios::binary | std::ios::app) << "more";  // still being written
  EXPECT_FALSE(b->unchanged().ok());
}

TEST_F(InputTest, ReplacedFileIsNoticed) {
  const std::string path = write("b.tar", "first");
  auto b = readBundleFile(path);
  ASSERT_TRUE(b.ok());
  write("other", "first");
  std::filesystem::rename(dir_ / "other", path);  // same size and content, another file
  EXPECT_FALSE(b->unchanged().ok());
}

TEST_F(InputTest, EmptyMissingAndPipedFiles) {
  auto empty = readBundleFile(write("empty", ""));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->view().empty());
  EXPECT_FALSE(readBundleFile((dir_ / "missing").string()).ok());

  const std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string content(5 << 20, 'p');  // several reads and a buffer that grows
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << content; });
  auto piped = readBundleFile(fifo);
  writer.join();
  ASSERT_TRUE(piped.ok()) << piped.status();
  EXPECT_EQ(piped->view(), content);
  EXPECT_TRUE(piped->unchanged().ok());  // read into memory: nothing can change under it
}

}  // namespace
}  // namespace xborder::evidence::verify
