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

TEST_F(DatasetTest, TheImagesAntiAliasingTravelsWithThemAndFilesWithoutItReadAsUnrecorded) {
  const std::string old_path = dir_ / "old.h5", new_path = dir_ / "new.h5";
  DatasetWriter::Create(old_path, info_, false).Append(Random(5, 1));  // antialias -1: not written
  EXPECT_EQ(DatasetReader(old_path).info().antialias, -1);
  DatasetInfo smooth = info_;
  smooth.antialias = 4;
  DatasetWriter::Create(new_path, smooth, false).Append(Random(5, 1));
  EXPECT_EQ(DatasetReader(new_path).info().antialias, 4);
  EXPECT_THAT(DatasetReader(new_path).info().Describe(), HasSubstr("anti-aliased, 4 samples"));
  // Images rendered another way are another collection: a resume with them is refused.
  DatasetInfo sharp = info_;
  sharp.antialias = 0;
  try {
    DatasetWriter::Resume(new_path, sharp);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("anti-aliased, 4 samples"));
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

TEST_F(DatasetTest, AChangedByteInTheImagesOrMetadataIsAnError) {
  // Image chunks carry a checksum and the metadata too (HDF5's 1.8 format): a changed byte is an
  // error, not data, and never a read past a buffer inside HDF5.
  const std::string path = dir_ / "d.h5";
  {
    auto w = DatasetWriter::Create(path, info_, false);
    w.Append(Random(5, 1));
  }
  haddr_t chunk = HADDR_UNDEF;
  hsize_t chunk_size = 0;
  {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t d = H5Dopen2(f, "data/demo_0/obs/image", H5P_DEFAULT);
    const hid_t p = H5Dget_create_plist(d);
    ASSERT_EQ(H5Pget_nfilters(p), 2);  // deflate, then fletcher32
    const hsize_t origin[4] = {0, 0, 0, 0};
    ASSERT_GE(H5Dget_chunk_info_by_coord(d, origin, nullptr, &chunk, &chunk_size), 0);
    H5Pclose(p), H5Dclose(d), H5Fclose(f);
  }
  auto flip = [](const std::string& file, hsize_t offset) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    const char c = static_cast<char>(f.get());
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(c ^ 0x5a));
  };
  const std::string chunk_flipped = dir_ / "chunk.h5";
  fs::copy_file(path, chunk_flipped);
  flip(chunk_flipped, chunk + chunk_size / 2);
  DatasetReader r(chunk_flipped);
  EXPECT_THROW(r.Read(0), std::runtime_error);
  // Every byte of the file's first 512 (superblock, root group, headers): an error or the same
  // episode, nothing else.
  const EpisodeData original = DatasetReader(path).Read(0);
  for (hsize_t offset = 0; offset < 512; ++offset) {
    const std::string copy = dir_ / "meta.h5";
    fs::copy_file(path, copy, fs::copy_options::overwrite_existing);
    flip(copy, offset);
    try {
      DatasetReader reader(copy);
      EXPECT_TRUE(reader.Read(0) == original) << "byte " << offset;
    } catch (const std::runtime_error&) {
    }
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
