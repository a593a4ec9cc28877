#include "sim/dataset.h"

#include "util/atomic_file.h"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace jepa_mpc::sim {

namespace {

// Owns one HDF5 identifier and closes it with the matching function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() {
    if (id_ >= 0) closer_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }
  void reset() {
    if (id_ >= 0) closer_(id_);
    id_ = -1;
  }

 private:
  hid_t id_;
  Closer closer_;
};

// HDF5 closes every file still open when the process exits. A file whose last write failed (disk
// full, file-size limit) cannot be closed, and HDF5 1.10 then crashes in that clean-up after the
// error has been reported. Every file this library opens is closed by its owner, and every
// episode is flushed before it counts, so nothing is lost by skipping it. This runs at load time
// because it must come before any other HDF5 call.
const bool kNoHdf5AtExit = (H5dont_atexit(), true);

void QuietHdf5() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

void Check(herr_t status, const std::string& what) {
  if (status < 0) throw std::runtime_error("HDF5: " + what + " failed");
}

hid_t Require(hid_t id, const std::string& what) {
  if (id < 0) throw std::runtime_error("HDF5: " + what + " failed");
  return id;
}

void WriteAttr(hid_t loc, const char* name, hid_t type, const void* value) {
  if (H5Aexists(loc, name) > 0) {
    // In place: a writer killed here leaves the old value, never a missing attribute.
    Handle attr(Require(H5Aopen(loc, name, H5P_DEFAULT), std::string("opening attribute ") + name),
                H5Aclose);
    Check(H5Awrite(attr.get(), type, value), std::string("writing attribute ") + name);
    return;
  }
  Handle space(Require(H5Screate(H5S_SCALAR), "dataspace"), H5Sclose);
  Handle attr(Require(H5Acreate2(loc, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                      std::string("creating attribute ") + name),
              H5Aclose);
  Check(H5Awrite(attr.get(), type, value), std::string("writing attribute ") + name);
}

void WriteAttr(hid_t loc, const char* name, const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(1, value.size()));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
  Handle space(Require(H5Screate(H5S_SCALAR), "dataspace"), H5Sclose);
  Handle attr(Require(H5Acreate2(loc, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                      std::string("creating attribute ") + name),
              H5Aclose);
  Check(H5Awrite(attr.get(), type.get(), value.data()), std::string("writing attribute ") + name);
}
void WriteAttr(hid_t loc, const char* name, int64_t v) { WriteAttr(loc, name, H5T_NATIVE_INT64, &v); }
void WriteAttr(hid_t loc, const char* name, uint64_t v) { WriteAttr(loc, name, H5T_NATIVE_UINT64, &v); }
void WriteAttr(hid_t loc, const char* name, double v) { WriteAttr(loc, name, H5T_NATIVE_DOUBLE, &v); }

template <typename T>
T ReadAttr(hid_t loc, const char* name, hid_t type, const std::string& path) {
  if (H5Aexists(loc, name) <= 0) {
    throw std::runtime_error("'" + path + "' is not a jepa-mpc dataset: attribute '" + name +
                             "' is missing");
  }
  Handle attr(Require(H5Aopen(loc, name, H5P_DEFAULT), std::string("opening attribute ") + name),
              H5Aclose);
  T value{};
  Check(H5Aread(attr.get(), type, &value), std::string("reading attribute ") + name);
  return value;
}

std::string ReadStringAttr(hid_t loc, const char* name, const std::string& path) {
  if (H5Aexists(loc, name) <= 0) {
    throw std::runtime_error("'" + path + "' is not a jepa-mpc dataset: attribute '" + name +
                             "' is missing");
  }
  Handle attr(Require(H5Aopen(loc, name, H5P_DEFAULT), "opening attribute"), H5Aclose);
  Handle ftype(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(ftype.get()) != H5T_STRING || H5Tis_variable_str(ftype.get()) > 0) {
    throw std::runtime_error("'" + path + "': attribute '" + name + "' is not a fixed string");
  }
  const size_t size = H5Tget_size(ftype.get());
  Handle mtype(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mtype.get(), size);
  H5Tset_strpad(mtype.get(), H5T_STR_NULLPAD);
  std::string value(size, '\0');
  Check(H5Aread(attr.get(), mtype.get(), value.data()), "reading attribute");
  value.resize(value.find('\0') == std::string::npos ? size : value.find('\0'));
  return value;
}

// Creates a T x cols... dataset and writes data. Images are chunked and compressed.
void WriteArray(hid_t group, const char* name, hid_t type, const std::vector<hsize_t>& dims,
                const void* data, bool compress) {
  Handle space(Require(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                       "dataspace"),
               H5Sclose);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), false);  // same seed, same bytes
  if (compress && dims[0] > 0) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = std::min<hsize_t>(dims[0], 16);
    H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
    H5Pset_deflate(dcpl.get(), 4);
    // A checksum over each compressed chunk, checked before it is inflated: HDF5 1.10 reads past
    // its buffers when a corrupted chunk inflates to the wrong size (found by fuzzing).
    H5Pset_fletcher32(dcpl.get());
  }
  Handle dset(Require(H5Dcreate2(group, name, type, space.get(), H5P_DEFAULT, dcpl.get(),
                                 H5P_DEFAULT),
                      std::string("creating dataset ") + name),
              H5Dclose);
  if (dims[0] > 0) {
    Check(H5Dwrite(dset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
          std::string("writing dataset ") + name);
  }
}

// Refuses a dataset whose storage cannot hold what its shape says, before HDF5 reads it (HDF5
// 1.10 reads and copies past its own buffers on such files; found by fuzzing):
// - stored whole (compact, contiguous): exactly n elements' bytes;
// - in compressed chunks: each chunk passed through every filter (its checksum among them) and
//   lies inside the file, since the 1.8 format's chunk index carries no checksum of its own.
void CheckStorage(hid_t dset, size_t n, const char* name, const std::string& where) {
  Handle dcpl(H5Dget_create_plist(dset), H5Pclose);
  Handle file_type(H5Dget_type(dset), H5Tclose);
  const H5D_layout_t layout = dcpl.ok() ? H5Pget_layout(dcpl.get()) : H5D_LAYOUT_ERROR;
  const size_t element = file_type.ok() ? H5Tget_size(file_type.get()) : 0;
  const hsize_t stored = H5Dget_storage_size(dset);
  if (layout == H5D_LAYOUT_ERROR || element == 0 ||
      ((layout == H5D_COMPACT || layout == H5D_CONTIGUOUS) && n > 0 && stored != n * element)) {
    throw std::runtime_error(where + ": dataset '" + name + "' is corrupt (its storage does not fit its shape)");
  }
  if (layout != H5D_CHUNKED || n == 0 || stored == 0) return;
  hsize_t chunks = 0;
  Handle all(H5Dget_space(dset), H5Sclose);
  if (H5Dget_num_chunks(dset, all.get(), &chunks) < 0) return;
  hsize_t file_size = 0;
  Handle file(H5Iget_file_id(dset), H5Fclose);
  H5Fget_filesize(file.get(), &file_size);
  for (hsize_t c = 0; c < chunks; ++c) {
    unsigned mask = 0;
    haddr_t addr = 0;
    hsize_t size = 0;
    if (H5Dget_chunk_info(dset, all.get(), c, nullptr, &mask, &addr, &size) < 0 || mask != 0 ||
        addr == HADDR_UNDEF || addr + size > file_size) {
      throw std::runtime_error(where + ": dataset '" + name + "' is corrupt (a chunk is damaged)");
    }
  }
}

template <typename T>
std::vector<T> ReadArray(hid_t group, const char* name, hid_t type,
                         const std::vector<hsize_t>& expect, const std::string& where) {
  if (H5Lexists(group, name, H5P_DEFAULT) <= 0) {
    throw std::runtime_error(where + ": dataset '" + name + "' is missing");
  }
  Handle dset(Require(H5Dopen2(group, name, H5P_DEFAULT), std::string("opening ") + name),
              H5Dclose);
  Handle space(H5Dget_space(dset.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(std::max(rank, 0));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  if (dims != expect) {
    std::ostringstream got, want;
    for (auto d : dims) got << d << " ";
    for (auto d : expect) want << d << " ";
    throw std::runtime_error(where + ": dataset '" + name + "' has shape [ " + got.str() +
                             "], expected [ " + want.str() + "]");
  }
  size_t n = 1;
  for (auto d : dims) n *= d;
  CheckStorage(dset.get(), n, name, where);
  std::vector<T> out(n);
  if (n > 0) {
    Check(H5Dread(dset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
          where + ": reading " + name);
  }
  return out;
}

Handle CreateGroup(hid_t loc, const std::string& name) {
  Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_obj_track_times(gcpl.get(), false);
  return Handle(Require(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT),
                        "creating group " + name),
                H5Gclose);
}

void WriteInfo(hid_t data, const DatasetInfo& info) {
  WriteAttr(data, "robot", info.robot);
  WriteAttr(data, "task", info.task);
  WriteAttr(data, "action_mode", info.action_mode);
  WriteAttr(data, "camera", info.camera);
  if (info.antialias >= 0) WriteAttr(data, "antialias", int64_t{info.antialias});
  WriteAttr(data, "control_period", info.control_period);
  WriteAttr(data, "image_height", int64_t{info.image_height});
  WriteAttr(data, "image_width", int64_t{info.image_width});
  WriteAttr(data, "action_dim", int64_t{info.action_dim});
  WriteAttr(data, "qpos_dim", int64_t{info.qpos_dim});
  WriteAttr(data, "num_objects", int64_t{info.num_objects});
  WriteAttr(data, "seed", info.seed);
  WriteAttr(data, "episode_steps", int64_t{info.episode_steps});
  WriteAttr(data, "format_version", int64_t{info.format_version});
  if (info.sharded()) {
    WriteAttr(data, "shard_index", int64_t{info.shard_index});
    WriteAttr(data, "shard_count", int64_t{info.shard_count});
    WriteAttr(data, "first_episode", int64_t{info.first_episode});
    WriteAttr(data, "shard_episodes", int64_t{info.shard_episodes});
  }
}

DatasetInfo ReadInfo(hid_t data, const std::string& path) {
  DatasetInfo info;
  info.format_version = static_cast<int>(ReadAttr<int64_t>(data, "format_version", H5T_NATIVE_INT64, path));
  if (info.format_version != kDatasetFormatVersion) {
    throw std::runtime_error("'" + path + "' has dataset format version " +
                             std::to_string(info.format_version) + ", expected " +
                             std::to_string(kDatasetFormatVersion));
  }
  info.robot = ReadStringAttr(data, "robot", path);
  info.task = ReadStringAttr(data, "task", path);
  info.action_mode = ReadStringAttr(data, "action_mode", path);
  info.camera = ReadStringAttr(data, "camera", path);
  info.control_period = ReadAttr<double>(data, "control_period", H5T_NATIVE_DOUBLE, path);
  auto i64 = [&](const char* n) { return static_cast<int>(ReadAttr<int64_t>(data, n, H5T_NATIVE_INT64, path)); };
  info.image_height = i64("image_height");
  info.image_width = i64("image_width");
  info.action_dim = i64("action_dim");
  info.qpos_dim = i64("qpos_dim");
  info.num_objects = i64("num_objects");
  info.episode_steps = i64("episode_steps");
  info.seed = ReadAttr<uint64_t>(data, "seed", H5T_NATIVE_UINT64, path);
  if (H5Aexists(data, "antialias") > 0) {
    info.antialias = i64("antialias");
    if (info.antialias < 0) throw std::runtime_error("'" + path + "' has invalid anti-aliasing samples");
  }
  if (info.image_height <= 0 || info.image_width <= 0 || info.action_dim <= 0 || info.qpos_dim <= 0 ||
      info.num_objects < 0) {
    throw std::runtime_error("'" + path + "' has invalid sizes in its attributes");
  }
  if (H5Aexists(data, "shard_count") > 0) {
    info.shard_index = i64("shard_index");
    info.shard_count = i64("shard_count");
    info.first_episode = i64("first_episode");
    info.shard_episodes = i64("shard_episodes");
    if (info.shard_count < 1 || info.shard_index < 0 || info.shard_index >= info.shard_count ||
        info.first_episode < 0 || info.shard_episodes < 1) {
      throw std::runtime_error("'" + path + "' has invalid shard attributes");
    }
  }
  return info;
}

Handle OpenFile(const std::string& path, unsigned flags) {
  QuietHdf5();
  if (!std::filesystem::exists(path)) throw std::runtime_error("dataset '" + path + "' does not exist");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    throw std::runtime_error("'" + path + "' is not an HDF5 file (truncated or another format)");
  }
  hid_t f = H5Fopen(path.c_str(), flags, H5P_DEFAULT);
  if (f < 0) throw std::runtime_error("cannot open dataset '" + path + "' (corrupt or locked)");
  return Handle(f, H5Fclose);
}

Handle OpenDataGroup(hid_t file, const std::string& path) {
  if (H5Lexists(file, "data", H5P_DEFAULT) <= 0) {
    throw std::runtime_error("'" + path + "' is not a jepa-mpc dataset: no /data group");
  }
  return Handle(Require(H5Gopen2(file, "data", H5P_DEFAULT), "opening /data"), H5Gclose);
}

std::string DemoName(int k) { return "demo_" + std::to_string(k); }

}  // namespace

bool DatasetInfo::SameCollection(const DatasetInfo& o) const {
  return robot == o.robot && task == o.task && action_mode == o.action_mode && camera == o.camera &&
         antialias == o.antialias && control_period == o.control_period && image_height == o.image_height &&
         image_width == o.image_width && action_dim == o.action_dim && qpos_dim == o.qpos_dim &&
         num_objects == o.num_objects && seed == o.seed && episode_steps == o.episode_steps &&
         format_version == o.format_version && shard_index == o.shard_index && shard_count == o.shard_count &&
         first_episode == o.first_episode && shard_episodes == o.shard_episodes;
}

std::string DatasetInfo::Describe() const {
  std::ostringstream s;
  s << "task " << task << " (robot " << robot << "), " << image_height << "x" << image_width << " images";
  if (antialias > 0) s << " (anti-aliased, " << antialias << " samples)";
  s << ", " << action_dim << "-d actions, " << episode_steps << " steps, seed " << seed;
  if (sharded()) {
    s << ", shard " << shard_index << "/" << shard_count << " (episodes " << first_episode << ".."
      << first_episode + shard_episodes - 1 << ")";
  }
  return s.str();
}

bool EpisodeData::operator==(const EpisodeData& o) const {
  return length == o.length && seed == o.seed && images == o.images && qpos == o.qpos &&
         ee_pos == o.ee_pos && object_pos == o.object_pos && actions == o.actions;
}

namespace {

// Creates `path` (truncating it) in the format this library writes; -1 if HDF5 cannot. The HDF5
// 1.8 format: its metadata carries checksums (chunk indexes aside), so a corrupted file is an
// error from HDF5 rather than metadata its parser trusts (fuzzing crashed HDF5 1.10's reader of
// the earliest format within seconds). Not the 1.10 format: its writer marks the file open in
// the superblock, and a killed writer's file then refuses readers. HDF5 1.8 and later read it
// (h5py too). The root group records no times, so the same collection gives the same bytes.
hid_t CreateHdf5File(const std::string& path) {
  Handle fapl(Require(H5Pcreate(H5P_FILE_ACCESS), "file access properties"), H5Pclose);
  Handle fcpl(Require(H5Pcreate(H5P_FILE_CREATE), "file creation properties"), H5Pclose);
  Check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18), "setting the file format");
  Check(H5Pset_obj_track_times(fcpl.get(), false), "setting the file creation properties");
  return H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get());
}

// Makes sure `bytes` more can be written to the file: within the file-size limit, and allocated
// on the disk past its end (without changing its size, which HDF5 checks). Throws with errno set
// (EFBIG, ENOSPC) if they cannot be.
void ReserveSpace(const std::string& path, size_t bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open '" + path + "' for writing");
  struct stat st {};
  int err = ::fstat(fd, &st) == 0 ? 0 : errno;
  rlimit limit{};
  if (err == 0 && getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      static_cast<rlim_t>(st.st_size) + bytes > limit.rlim_cur) {
    err = EFBIG;
  }
  if (err == 0 && ::fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, static_cast<off_t>(bytes)) != 0) {
    err = errno;
    if (err == EOPNOTSUPP || err == ENOSYS) {  // a filesystem without fallocate: ask how much is free
      struct statvfs fs {};
      err = ::fstatvfs(fd, &fs) == 0 && fs.f_bavail * fs.f_frsize < bytes ? ENOSPC : 0;
    }
  }
  ::close(fd);
  if (err != 0) {
    errno = err;
    throw std::runtime_error("reserving space in '" + path + "' failed");
  }
}

// Rewrites `path` with its first `total` episodes only, through a temporary file renamed over it.
void CopyCompleteEpisodes(const std::string& path, const DatasetInfo& info, int total) {
  const std::string tmp = util::TemporaryPathFor(path);
  try {
    Handle src = OpenFile(path, H5F_ACC_RDONLY);
    Handle src_data = OpenDataGroup(src.get(), path);
    Handle dst(Require(CreateHdf5File(tmp), "creating " + tmp), H5Fclose);
    Handle dst_data = CreateGroup(dst.get(), "data");
    WriteInfo(dst_data.get(), info);
    for (int k = 0; k < total; ++k) {
      const std::string name = DemoName(k);
      Check(H5Ocopy(src_data.get(), name.c_str(), dst_data.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
            "copying " + name + " of '" + path + "'");
    }
    WriteAttr(dst_data.get(), "total", int64_t{total});
    Check(H5Fflush(dst.get(), H5F_SCOPE_GLOBAL), "flushing " + tmp);
  } catch (const std::exception& e) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot resume '" + path + "': its last write failed and copying its " +
                             std::to_string(total) + " complete episodes failed too (" + e.what() + ")");
  }
  util::CommitTemporaryFile(tmp, path);
}

}  // namespace

DatasetWriter DatasetWriter::Create(const std::string& path, const DatasetInfo& info,
                                    bool overwrite) {
  QuietHdf5();
  if (!overwrite && std::filesystem::exists(path)) {
    throw std::runtime_error("output '" + path +
                             "' already exists (use --resume to continue it or --overwrite)");
  }
  hid_t f = CreateHdf5File(path);
  if (f < 0) throw std::runtime_error("cannot create output '" + path + "': not writable");
  {
    Handle file(f, H5Fclose);
    Handle data = CreateGroup(file.get(), "data");
    WriteInfo(data.get(), info);
    WriteAttr(data.get(), "total", int64_t{0});
  }
  return DatasetWriter(path, info, 0);
}

DatasetWriter DatasetWriter::Resume(const std::string& path, const DatasetInfo& info) {
  Handle file = OpenFile(path, H5F_ACC_RDWR);
  Handle data = OpenDataGroup(file.get(), path);
  const DatasetInfo existing = ReadInfo(data.get(), path);
  if (!existing.SameCollection(info)) {
    throw std::runtime_error("cannot resume '" + path + "': it holds " + existing.Describe() +
                             ", this run asks for " + info.Describe());
  }
  const int total = static_cast<int>(ReadAttr<int64_t>(data.get(), "total", H5T_NATIVE_INT64, path));
  // An episode that was being written when the writer stopped is dropped.
  const std::string partial = DemoName(total);
  if (H5Lexists(data.get(), partial.c_str(), H5P_DEFAULT) > 0 &&
      H5Ldelete(data.get(), partial.c_str(), H5P_DEFAULT) < 0) {
    // A kill in the middle of creating the group can leave a link whose object header was never
    // written, which H5Ldelete cannot free; moving the link aside touches only the group's index.
    std::string aside;
    for (int k = 0; aside.empty() || H5Lexists(data.get(), aside.c_str(), H5P_DEFAULT) > 0; ++k) {
      aside = "dropped_" + partial + "_" + std::to_string(k);
    }
    if (H5Lmove(data.get(), partial.c_str(), data.get(), aside.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0) {
      // A write that failed for want of space can leave the group's index itself half on the
      // disk: then the complete episodes are copied into a new file that replaces this one.
      data.reset();
      file.reset();
      CopyCompleteEpisodes(path, existing, total);
    }
  }
  return DatasetWriter(path, existing, total);
}

void DatasetWriter::Append(const EpisodeData& e) {
  const size_t T = e.length;
  const DatasetInfo& in = info_;
  if (e.length < 0 || e.images.size() != T * in.image_height * in.image_width * 3 ||
      e.qpos.size() != T * in.qpos_dim || e.ee_pos.size() != T * 3 ||
      e.object_pos.size() != T * 3 * in.num_objects || e.actions.size() != T * in.action_dim) {
    throw std::invalid_argument("episode arrays do not match the dataset's sizes (" +
                                in.Describe() + ")");
  }
  errno = 0;
  try {
    AppendUnchecked(e);
  } catch (const std::exception& ex) {
    // A write that fails leaves errno from the failed system call (ENOSPC, EFBIG, EDQUOT, EIO).
    const int err = errno;
    const bool io = err == ENOSPC || err == EFBIG || err == EDQUOT || err == EIO || err == EROFS;
    const std::string why = io ? std::string(std::strerror(err)) : ex.what();
    throw std::runtime_error("writing episode " + std::to_string(total_) + " to '" + path_ +
                             "' failed (" + why + "); its " + std::to_string(total_) +
                             " complete episodes are intact: free space and rerun with --resume");
  }
  ++total_;
}

void DatasetWriter::AppendUnchecked(const EpisodeData& e) {
  const DatasetInfo& in = info_;
  const size_t T = e.length;
  // Room for the whole episode is reserved before HDF5 writes a byte. HDF5 records the file's
  // new end in its superblock before the data there is on the disk, so a write that fails for
  // want of space (full disk, file-size limit) would leave a file it refuses to open; a failed
  // reservation leaves the file as the last commit left it. Twice the uncompressed arrays plus
  // 64 KiB of metadata bounds what one episode adds.
  const size_t raw = e.images.size() + sizeof(double) * (e.qpos.size() + e.ee_pos.size() + e.object_pos.size()) +
                     sizeof(float) * e.actions.size();
  ReserveSpace(path_, 2 * raw + (64 << 10));
  Handle file = OpenFile(path_, H5F_ACC_RDWR);
  Handle data = OpenDataGroup(file.get(), path_);
  const std::string name = DemoName(total_);
  if (H5Lexists(data.get(), name.c_str(), H5P_DEFAULT) > 0) H5Ldelete(data.get(), name.c_str(), H5P_DEFAULT);
  {
    Handle demo = CreateGroup(data.get(), name);
    Handle obs = CreateGroup(demo.get(), "obs");
    const hsize_t H = in.image_height, W = in.image_width;
    WriteArray(obs.get(), "image", H5T_NATIVE_UINT8, {T, H, W, 3}, e.images.data(), true);
    WriteArray(obs.get(), "qpos", H5T_NATIVE_DOUBLE, {T, hsize_t(in.qpos_dim)}, e.qpos.data(), false);
    WriteArray(obs.get(), "ee_pos", H5T_NATIVE_DOUBLE, {T, 3}, e.ee_pos.data(), false);
    if (in.num_objects > 0) {
      WriteArray(obs.get(), "object_pos", H5T_NATIVE_DOUBLE, {T, hsize_t(3 * in.num_objects)},
                 e.object_pos.data(), false);
    }
    WriteArray(demo.get(), "actions", H5T_NATIVE_FLOAT, {T, hsize_t(in.action_dim)},
               e.actions.data(), false);
    WriteAttr(demo.get(), "num_samples", int64_t{e.length});
    WriteAttr(demo.get(), "seed", e.seed);
  }
  Check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "flushing " + path_);
  // Commit: the episode counts only once `total` says so.
  WriteAttr(data.get(), "total", int64_t{total_ + 1});
  Check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "flushing " + path_);
}

DatasetReader::DatasetReader(const std::string& path) : path_(path) {
  Handle file = OpenFile(path, H5F_ACC_RDONLY);
  Handle data = OpenDataGroup(file.get(), path);
  info_ = ReadInfo(data.get(), path);
  total_ = static_cast<int>(ReadAttr<int64_t>(data.get(), "total", H5T_NATIVE_INT64, path));
  file_ = H5Freopen(file.get());
}

DatasetReader::~DatasetReader() {
  if (file_ >= 0) H5Fclose(file_);
}

EpisodeData DatasetReader::Read(int k) const {
  if (k < 0 || k >= total_) {
    throw std::out_of_range("episode " + std::to_string(k) + " out of range, '" + path_ +
                            "' holds " + std::to_string(total_));
  }
  const std::string where = "'" + path_ + "' " + DemoName(k);
  Handle demo(Require(H5Gopen2(file_, ("data/" + DemoName(k)).c_str(), H5P_DEFAULT), "opening " + where),
              H5Gclose);
  EpisodeData e;
  e.length = static_cast<int>(ReadAttr<int64_t>(demo.get(), "num_samples", H5T_NATIVE_INT64, path_));
  e.seed = ReadAttr<uint64_t>(demo.get(), "seed", H5T_NATIVE_UINT64, path_);
  const hsize_t T = e.length;
  Handle obs(Require(H5Gopen2(demo.get(), "obs", H5P_DEFAULT), "opening obs of " + where), H5Gclose);
  e.images = ReadArray<uint8_t>(obs.get(), "image", H5T_NATIVE_UINT8,
                                {T, hsize_t(info_.image_height), hsize_t(info_.image_width), 3}, where);
  e.qpos = ReadArray<double>(obs.get(), "qpos", H5T_NATIVE_DOUBLE, {T, hsize_t(info_.qpos_dim)}, where);
  e.ee_pos = ReadArray<double>(obs.get(), "ee_pos", H5T_NATIVE_DOUBLE, {T, 3}, where);
  if (info_.num_objects > 0) {
    e.object_pos = ReadArray<double>(obs.get(), "object_pos", H5T_NATIVE_DOUBLE,
                                     {T, hsize_t(3 * info_.num_objects)}, where);
  }
  e.actions = ReadArray<float>(demo.get(), "actions", H5T_NATIVE_FLOAT,
                               {T, hsize_t(info_.action_dim)}, where);
  return e;
}

}  // namespace jepa_mpc::sim
