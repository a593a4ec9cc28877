#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "sim/dataset.h"
#include "tests/temp_dir.h"

namespace jepa_mpc::sim {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    info_.robot = "panda7";
    info_.task = "push";
    info_.action_mode = "end_effector_delta";
    info_.camera = "front";
    info_.control_period = 0.05;
    info_.image_height = 8;
    info_.image_width = 6;
    info_.action_dim = 4;
    info_.qpos_dim = 8;
    info_.num_objects = 1;
    info_.seed = 9;
    info_.episode_steps = 5;
  }

  EpisodeData Random(int T, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1, 1);
    EpisodeData e;
    e.length = T;
    e.seed = seed;
    e.images.resize(T * 8 * 6 * 3);
    for (auto& v : e.images) v = static_cast<uint8_t>(rng());
    e.qpos.resize(T * 8);
    for (auto& v : e.qpos) v = u(rng);
    e.ee_pos.resize(T * 3);
    for (auto& v : e.ee_pos) v = u(rng);
    e.object_pos.resize(T * 3);
    for (auto& v : e.object_pos) v = u(rng);
    e.actions.resize(T * 4);
    for (auto& v : e.actions) v = static_cast<float>(u(rng));
    return e;
  }

  jepa_mpc::testing::TempDir tmp_{"jepa_dataset_test"};
  const fs::path& dir_ = tmp_.path();
  DatasetInfo info_;
};

TEST_F(DatasetTest, WrittenAndReadBackIsIdentical) {
  const std::string path = dir_ / "d.h5";
  auto w = DatasetWriter::Create(path, info_, false);
  const EpisodeData a = Random(5, 1), b = Random(5, 2);
  w.Append(a);
  w.Append(b);
  DatasetReader r(path);
  EXPECT_EQ(r.num_episodes(), 2);
  EXPECT_TRUE(r.info().SameCollection(info_));
  EXPECT_EQ(r.info().robot, "panda7");
  EXPECT_EQ(r.info().camera, "front");
  EXPECT_TRUE(r.Read(0) == a);
  EXPECT_TRUE(r.Read(1) == b);
  EXPECT_FALSE(r.Read(0) == b);
  EXPECT_THROW(r.Read(2), std::out_of_range);
}

TEST_F(DatasetTest, ResumeAppendsAndRejectsOtherSettings) {
  const std::string path = dir_ / "d.h5";
  DatasetWriter::Create(path, info_, false).Append(Random(5, 1));
  auto w = DatasetWriter::Resume(path, info_);
  EXPECT_EQ(w.num_episodes(), 1);
  w.Append(Random(5, 2));
  EXPECT_EQ(DatasetReader(path).num_episodes(), 2);
  DatasetInfo other = info_;
  other.seed = 10;
  try {
    DatasetWriter::Resume(path, other);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("seed 9"));
    EXPECT_THAT(e.what(), HasSubstr("seed 10"));
  }
}

TEST_F(DatasetTest, UncommittedEpisodeIsIgnoredAndDroppedOnResume) {
  const std::string path = dir_ / "d.h5";
  DatasetWriter::Create(path, info_, false).Append(Random(5, 1));
  {
    // Simulate a writer killed mid-episode: demo_1 exists but total still says 1.
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "data/demo_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    H5Fclose(f);
  }
  EXPECT_EQ(DatasetReader(path).num_episodes(), 1);
  auto w = DatasetWriter::Resume(path, info_);
  const EpisodeData b = Random(5, 2);
  w.Append(b);
  DatasetReader r(path);
  EXPECT_EQ(r.num_episodes(), 2);
  EXPECT_TRUE(r.Read(1) == b);
}

TEST_F(DatasetTest, RefusesToOverwriteUnlessAsked) {
  const std::string path = dir_ / "d.h5";
  DatasetWriter::Create(path, info_, false);
  EXPECT_THROW(DatasetWriter::Create(path, info_, false), std::runtime_error);
  EXPECT_NO_THROW(DatasetWriter::Create(path, info_, true));
}

TEST_F(DatasetTest, BadFilesGiveClearErrors) {
  try {
    DatasetReader r((dir_ / "missing.h5").string());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not exist"));
  }
  const std::string text = dir_ / "text.h5";
  std::ofstream(text) << "not hdf5";
  try {
    DatasetReader r(text);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("not an HDF5 file"));
  }
  // A truncated dataset.
  const std::string full = dir_ / "full.h5", cut = dir_ / "cut.h5";
  auto w = DatasetWriter::Create(full, info_, false);
  w.Append(Random(5, 1));
  fs::copy_file(full, cut);
  fs::resize_file(cut, fs::file_size(full) / 2);
  EXPECT_THROW(
      {
        DatasetReader r(cut);
        r.Read(0);
      },
      std::runtime_error);
  // An HDF5 file that is not ours.
  const std::string foreign = dir_ / "foreign.h5";
  H5Fclose(H5Fcreate(foreign.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  try {
    DatasetReader r(foreign);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("not a jepa-mpc dataset"));
  }
}

TEST_F(DatasetTest, MismatchedEpisodeIsRejected) {
  auto w = DatasetWriter::Create(dir_ / "d.h5", info_, false);
  EpisodeData e = Random(5, 1);
  e.actions.pop_back();
  EXPECT_THROW(w.Append(e), std::invalid_argument);
  EXPECT_EQ(w.num_episodes(), 0);
}

}  // namespace
}  // namespace jepa_mpc::sim
