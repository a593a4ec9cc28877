#include "sim/robot_description.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <stdexcept>

#include "sim/mj.h"
#include "sim/simulation.h"

namespace jepa_mpc::sim {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::vector<std::string> kFields = {
    "mjcf",    "task",         "arm_joints",     "actuators",    "drive",      "pd_gains",
    "joint_ranges", "end_effector", "end_effector_offset", "gripper", "cameras", "added_camera",
    "home",    "keyframe",     "workspace",      "control_period", "action_mode", "action_scale",
    "target_ramp", "objects"};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Name(const mjModel* m, mjtObj type, int id) {
  const char* n = mj_id2name(m, type, id);
  return n ? n : "";
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// The description's fields with typed access; every error is one line naming the file and field.
class Fields {
 public:
  Fields(std::string file, json j) : file_(std::move(file)), j_(std::move(j)) {}

  const std::string& file() const { return file_; }
  [[noreturn]] void Fail(const std::string& field, const std::string& what) const {
    throw std::invalid_argument(file_ + ": \"" + field + "\" " + what);
  }
  bool Has(const std::string& f) const { return j_.contains(f); }
  const json& Get(const std::string& f) const { return j_.at(f); }

  std::string String(const std::string& f) const {
    if (!Get(f).is_string()) Fail(f, "must be a string, got " + Get(f).dump());
    return Get(f).get<std::string>();
  }
  double Number(const std::string& f, const json& v) const {
    if (!v.is_number() || !std::isfinite(v.get<double>())) Fail(f, "must be a finite number, got " + v.dump());
    return v.get<double>();
  }
  double Number(const std::string& f) const { return Number(f, Get(f)); }
  // A list of n numbers (n < 0: any length); a single number stands for n copies when `broadcast`.
  std::vector<double> Numbers(const std::string& f, const json& v, int n, bool broadcast = false) const {
    if (broadcast && v.is_number() && n > 0) return std::vector<double>(n, Number(f, v));
    const std::string expected = n >= 0 ? std::to_string(n) + " numbers" : "a list of numbers";
    if (!v.is_array() || (n >= 0 && static_cast<int>(v.size()) != n)) {
      Fail(f, "must be " + expected + (broadcast ? " (or one number)" : "") + ", got " + v.dump());
    }
    std::vector<double> out;
    for (const auto& x : v) out.push_back(Number(f, x));
    return out;
  }
  std::vector<double> Numbers(const std::string& f, int n, bool broadcast = false) const {
    return Numbers(f, Get(f), n, broadcast);
  }
  std::vector<std::string> Strings(const std::string& f) const {
    const json& v = Get(f);
    if (!v.is_array() || v.empty()) Fail(f, "must be a non-empty list of names, got " + v.dump());
    std::vector<std::string> out;
    for (const auto& x : v) {
      if (!x.is_string()) Fail(f, "must be a list of names, got " + v.dump());
      out.push_back(x.get<std::string>());
    }
    return out;
  }
  // The id of a named model element the field refers to.
  int Id(const mjModel* m, mjtObj type, const std::string& field, const std::string& name,
         const std::string& mjcf) const {
    const int id = mj_name2id(m, type, name.c_str());
    if (id < 0) Fail(field, "names " + std::string(mju_type2Str(type)) + " " + Quote(name) + ", which " + mjcf + " does not have");
    return id;
  }

 private:
  std::string file_;
  json j_;
};

enum class ActuatorKind { kPosition, kMotor, kVelocity, kOther };

ActuatorKind KindOf(const mjModel* m, int a) {
  if (m->actuator_gaintype[a] != mjGAIN_FIXED || m->actuator_dyntype[a] != mjDYN_NONE) return ActuatorKind::kOther;
  const mjtNum* b = m->actuator_biasprm + mjNBIAS * a;
  if (m->actuator_biastype[a] == mjBIAS_NONE) return ActuatorKind::kMotor;
  if (m->actuator_biastype[a] == mjBIAS_AFFINE && b[1] < 0) return ActuatorKind::kPosition;
  if (m->actuator_biastype[a] == mjBIAS_AFFINE && b[1] == 0 && b[2] < 0) return ActuatorKind::kVelocity;
  return ActuatorKind::kOther;
}

const char* KindName(ActuatorKind k) {
  switch (k) {
    case ActuatorKind::kPosition:
      return "a position servo";
    case ActuatorKind::kMotor:
      return "a motor";
    case ActuatorKind::kVelocity:
      return "a velocity servo";
    case ActuatorKind::kOther:
      break;
  }
  return "neither a position servo, a motor nor a velocity servo";
}

// Bodies rigidly attached to body b: b and its descendants reached without a joint.
std::vector<int> RigidSubtree(const mjModel* m, int b) {
  std::vector<int> out = {b};
  for (size_t k = 0; k < out.size(); ++k) {
    for (int c = 0; c < m->nbody; ++c) {
      if (c != out[k] && m->body_parentid[c] == out[k] && m->body_jntnum[c] == 0) out.push_back(c);
    }
  }
  return out;
}

// The point of body b's rigid geoms farthest from `anchor` (world, at d's pose): the tip of a link.
Eigen::Vector3d GeomTip(const mjModel* m, const mjData* d, int b, const Eigen::Vector3d& anchor) {
  const std::vector<int> bodies = RigidSubtree(m, b);
  Eigen::Vector3d best = Eigen::Map<const Eigen::Vector3d>(d->xpos + 3 * b);
  double best_dist = (best - anchor).norm();
  for (int g = 0; g < m->ngeom; ++g) {
    if (std::find(bodies.begin(), bodies.end(), m->geom_bodyid[g]) == bodies.end()) continue;
    const Eigen::Vector3d c = Eigen::Map<const Eigen::Vector3d>(d->geom_xpos + 3 * g);
    const Eigen::Matrix<double, 3, 3, Eigen::RowMajor> R =
        Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>>(d->geom_xmat + 9 * g);
    const mjtNum* size = m->geom_size + 3 * g;
    std::vector<Eigen::Vector3d> points = {c};
    switch (m->geom_type[g]) {
      case mjGEOM_CAPSULE:
        points.push_back(c + R.col(2) * (size[1] + size[0]));
        points.push_back(c - R.col(2) * (size[1] + size[0]));
        break;
      case mjGEOM_CYLINDER:
        points.push_back(c + R.col(2) * size[1]);
        points.push_back(c - R.col(2) * size[1]);
        break;
      case mjGEOM_SPHERE:
        break;
      case mjGEOM_BOX:
      case mjGEOM_ELLIPSOID:
        for (int k = 0; k < 3; ++k) {
          points.push_back(c + R.col(k) * size[k]);
          points.push_back(c - R.col(k) * size[k]);
        }
        break;
      default:
        break;
    }
    for (const auto& p : points) {
      if ((p - anchor).norm() > best_dist) {
        best_dist = (p - anchor).norm();
        best = p;
      }
    }
  }
  return best;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

}  // namespace

bool IsRobotFile(const std::string& robot) { return EndsWith(robot, ".json") || EndsWith(robot, ".xml"); }

std::string DescriptionTask(const std::string& path) {
  if (!EndsWith(path, ".json")) return "reach";
  std::ifstream in(path);
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("task")) return "reach";
  if (!j["task"].is_string()) throw std::invalid_argument(path + ": \"task\" must be a string, got " + j["task"].dump());
  return j["task"].get<std::string>();
}

robots::RobotSpec LoadRobotDescription(const std::string& path, const robots::SceneOptions& scene) {
  const std::string file = fs::absolute(path).lexically_normal().string();
  if (!fs::is_regular_file(file)) {
    throw std::invalid_argument("robot description '" + path + "' does not exist (expected a .json description or an MJCF .xml file)");
  }
  json j = json::object();
  std::string mjcf = file;
  if (EndsWith(file, ".json")) {
    std::ifstream in(file);
    j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      throw std::invalid_argument(file + ": not a JSON object (a robot description: {\"mjcf\": \"arm.xml\", ...})");
    }
    for (const auto& [key, value] : j.items()) {
      if (std::find(kFields.begin(), kFields.end(), key) == kFields.end()) {
        std::string known;
        for (const auto& f : kFields) known += (known.empty() ? "" : ", ") + f;
        throw std::invalid_argument(file + ": unknown field \"" + key + "\", expected one of: " + known);
      }
    }
  }
  const Fields f(file, j);
  if (EndsWith(file, ".json")) {
    if (!f.Has("mjcf")) f.Fail("mjcf", "is missing: the MJCF file of the robot, relative to the description");
    mjcf = (fs::path(file).parent_path() / f.String("mjcf")).lexically_normal().string();
    if (!fs::is_regular_file(mjcf)) f.Fail("mjcf", "names " + Quote(mjcf) + ", which does not exist");
  }
  const std::string mjcf_name = fs::path(mjcf).filename().string();
  ModelPtr model;
  try {
    model = LoadModelFromFile(mjcf);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(e.what());  // a bad input, like every other description error
  }
  const mjModel* m = model.get();

  robots::RobotSpec spec;
  spec.name = file;
  spec.mjcf_file = mjcf;
  spec.offscreen_size = scene.offscreen_size;
  spec.offscreen_samples = scene.antialias;

  // Objects: free bodies.
  if (f.Has("objects")) {
    spec.objects = f.Strings("objects");
    for (const auto& o : spec.objects) {
      const int b = f.Id(m, mjOBJ_BODY, "objects", o, mjcf_name);
      if (m->body_jntnum[b] != 1 || m->jnt_type[m->body_jntadr[b]] != mjJNT_FREE) {
        f.Fail("objects", "names body " + Quote(o) + ", which has no free joint");
      }
    }
  } else {
    for (int b = 1; b < m->nbody; ++b) {
      if (m->body_jntnum[b] == 1 && m->jnt_type[m->body_jntadr[b]] == mjJNT_FREE) spec.objects.push_back(Name(m, mjOBJ_BODY, b));
    }
  }

  // Gripper: named, never guessed (which end is open cannot be read from a model).
  int gripper_joint = -1;
  if (f.Has("gripper")) {
    const json& g = f.Get("gripper");
    if (!g.is_object() || !g.contains("actuator") || !g.contains("open") || !g.contains("closed")) {
      f.Fail("gripper", "must be {\"actuator\": name, \"open\": ctrl, \"closed\": ctrl}, got " + g.dump());
    }
    if (!g["actuator"].is_string()) f.Fail("gripper", "actuator must be a name, got " + g["actuator"].dump());
    spec.gripper_actuator = g["actuator"].get<std::string>();
    const int a = f.Id(m, mjOBJ_ACTUATOR, "gripper", spec.gripper_actuator, mjcf_name);
    if (m->actuator_trntype[a] != mjTRN_JOINT) f.Fail("gripper", "actuator " + Quote(spec.gripper_actuator) + " does not drive a joint");
    gripper_joint = m->actuator_trnid[2 * a];
    spec.gripper_range = {f.Number("gripper", g["open"]), f.Number("gripper", g["closed"])};
    if (scene.gripper_closed) spec.gripper_hold = 1.0;
  }

  // Arm joints and their actuators.
  if (m->nu == 0) {
    throw std::invalid_argument(file + ": " + mjcf_name +
                                " has no actuators; an arm needs one per joint (an <actuator> section: "
                                "<position>, <motor> or <velocity> elements)");
  }
  std::vector<int> joints;
  if (f.Has("arm_joints")) {
    for (const auto& name : f.Strings("arm_joints")) joints.push_back(f.Id(m, mjOBJ_JOINT, "arm_joints", name, mjcf_name));
  } else {
    std::set<int> driven;
    for (int a = 0; a < m->nu; ++a) {
      if (m->actuator_trntype[a] != mjTRN_JOINT) continue;
      const int jt = m->actuator_trnid[2 * a];
      if (jt == gripper_joint || (m->jnt_type[jt] != mjJNT_HINGE && m->jnt_type[jt] != mjJNT_SLIDE)) continue;
      driven.insert(jt);
    }
    joints.assign(driven.begin(), driven.end());  // model order: base to tip
    if (joints.empty()) {
      f.Fail("arm_joints", "is not given and no actuator of " + mjcf_name + " drives a hinge or slide joint");
    }
  }
  const int n = static_cast<int>(joints.size());
  for (int jt : joints) {
    spec.arm_joints.push_back(Name(m, mjOBJ_JOINT, jt));
    if (spec.arm_joints.back().empty()) f.Fail("arm_joints", "includes joint " + std::to_string(jt) + ", which has no name in " + mjcf_name);
  }
  std::vector<int> actuators;
  if (f.Has("actuators")) {
    spec.arm_actuators = f.Strings("actuators");
    if (static_cast<int>(spec.arm_actuators.size()) != n) {
      f.Fail("actuators", "lists " + std::to_string(spec.arm_actuators.size()) + " actuators for " + std::to_string(n) + " arm joints");
    }
    for (const auto& a : spec.arm_actuators) actuators.push_back(f.Id(m, mjOBJ_ACTUATOR, "actuators", a, mjcf_name));
  } else {
    for (int i = 0; i < n; ++i) {
      int found = -1;
      for (int a = 0; a < m->nu && found < 0; ++a) {
        if (m->actuator_trntype[a] == mjTRN_JOINT && m->actuator_trnid[2 * a] == joints[i]) found = a;
      }
      if (found < 0) f.Fail("actuators", "is not given and no actuator drives arm joint " + Quote(spec.arm_joints[i]));
      spec.arm_actuators.push_back(Name(m, mjOBJ_ACTUATOR, found));
      if (spec.arm_actuators.back().empty()) f.Fail("actuators", "is not given and the actuator of joint " + Quote(spec.arm_joints[i]) + " has no name");
      actuators.push_back(found);
    }
  }

  // Drive: what the actuators are.
  ActuatorKind kind = KindOf(m, actuators[0]);
  for (int i = 1; i < n; ++i) {
    if (KindOf(m, actuators[i]) != kind) {
      f.Fail("actuators", "mixes kinds: " + Quote(spec.arm_actuators[0]) + " is " + KindName(kind) + ", " +
                              Quote(spec.arm_actuators[i]) + " is " + KindName(KindOf(m, actuators[i])));
    }
  }
  if (f.Has("drive")) {
    const std::string d = f.String("drive");
    const ActuatorKind asked = d == "position" ? ActuatorKind::kPosition
                               : d == "motor"  ? ActuatorKind::kMotor
                               : d == "velocity" ? ActuatorKind::kVelocity
                                                 : ActuatorKind::kOther;
    if (asked == ActuatorKind::kOther) f.Fail("drive", "is " + Quote(d) + ", expected position, motor or velocity");
    if (kind != ActuatorKind::kOther && kind != asked) {
      f.Fail("drive", "is " + Quote(d) + " but actuator " + Quote(spec.arm_actuators[0]) + " is " + KindName(kind));
    }
    kind = asked;
  }
  if (kind == ActuatorKind::kOther) {
    f.Fail("drive", "is not given and actuator " + Quote(spec.arm_actuators[0]) + " is " + KindName(kind) +
                        "; say how to drive it: position, motor or velocity");
  }
  spec.arm_drive = kind == ActuatorKind::kPosition ? robots::Drive::kPosition
                   : kind == ActuatorKind::kMotor  ? robots::Drive::kMotor
                                                   : robots::Drive::kVelocity;

  // Joint ranges: goals and exploration are drawn within them.
  if (f.Has("joint_ranges")) {
    const json& r = f.Get("joint_ranges");
    if (!r.is_object()) f.Fail("joint_ranges", "must map joint names to [lo, hi], got " + r.dump());
    for (const auto& [name, range] : r.items()) {
      f.Id(m, mjOBJ_JOINT, "joint_ranges", name, mjcf_name);
      const auto v = f.Numbers("joint_ranges", range, 2);
      if (!(v[0] < v[1])) f.Fail("joint_ranges", "gives joint " + Quote(name) + " an empty range " + range.dump());
      spec.joint_ranges.push_back({name, {v[0], v[1]}});
    }
  }
  std::vector<double> lo(n), hi(n);
  for (int i = 0; i < n; ++i) {
    const int jt = joints[i];
    auto it = std::find_if(spec.joint_ranges.begin(), spec.joint_ranges.end(),
                           [&](const auto& r) { return r.first == spec.arm_joints[i]; });
    if (it != spec.joint_ranges.end()) {
      lo[i] = it->second[0];
      hi[i] = it->second[1];
    } else if (m->jnt_limited[jt]) {
      lo[i] = m->jnt_range[2 * jt];
      hi[i] = m->jnt_range[2 * jt + 1];
    } else {
      f.Fail("joint_ranges", "does not give arm joint " + Quote(spec.arm_joints[i]) + " a range, and " + mjcf_name +
                                 " leaves it unlimited; goals and exploration are drawn within the joints' "
                                 "ranges: set range=\"lo hi\" on the joint or add it here");
    }
  }

  // Home pose.
  if (f.Has("home")) {
    spec.home_qpos = f.Numbers("home", n);
  } else {
    int key = -1;
    if (f.Has("keyframe")) {
      key = f.Id(m, mjOBJ_KEY, "keyframe", f.String("keyframe"), mjcf_name);
    } else {
      key = mj_name2id(m, mjOBJ_KEY, "home");
    }
    for (int i = 0; i < n; ++i) {
      const int adr = m->jnt_qposadr[joints[i]];
      spec.home_qpos.push_back(key >= 0 ? m->key_qpos[key * m->nq + adr] : m->qpos0[adr]);
    }
  }
  for (int i = 0; i < n; ++i) {
    if (f.Has("home") && (spec.home_qpos[i] < lo[i] || spec.home_qpos[i] > hi[i])) {
      f.Fail("home", "puts joint " + Quote(spec.arm_joints[i]) + " at " + std::to_string(spec.home_qpos[i]) +
                         ", outside its range " + std::to_string(lo[i]) + " .. " + std::to_string(hi[i]));
    }
    spec.home_qpos[i] = std::clamp(spec.home_qpos[i], lo[i], hi[i]);
  }

  // End effector: a site or a body (+ offset); by default the last arm body's first site, or the
  // tip of its geoms.
  DataPtr data = MakeData(m);
  mjData* d = data.get();
  auto set_pose = [&](const std::vector<double>& q) {
    for (int i = 0; i < n; ++i) d->qpos[m->jnt_qposadr[joints[i]]] = q[i];
    mj_kinematics(m, d);
  };
  set_pose(spec.home_qpos);
  const int last_body = m->jnt_bodyid[joints.back()];
  if (f.Has("end_effector")) {
    const std::string e = f.String("end_effector");
    if (mj_name2id(m, mjOBJ_SITE, e.c_str()) >= 0 && !f.Has("end_effector_offset")) {
      spec.end_effector_site = e;
    } else if (mj_name2id(m, mjOBJ_BODY, e.c_str()) >= 0) {
      spec.end_effector_body = e;
      if (f.Has("end_effector_offset")) {
        const auto o = f.Numbers("end_effector_offset", 3);
        spec.end_effector_offset = {o[0], o[1], o[2]};
      }
    } else {
      f.Fail("end_effector", "names " + Quote(e) + ", which is neither a site nor a body of " + mjcf_name +
                                 (f.Has("end_effector_offset") ? " (an offset needs a body)" : ""));
    }
  } else {
    if (f.Has("end_effector_offset")) f.Fail("end_effector_offset", "needs \"end_effector\" (a body) beside it");
    const std::vector<int> rigid = RigidSubtree(m, last_body);
    for (int s = 0; s < m->nsite && spec.end_effector_site.empty(); ++s) {
      if (std::find(rigid.begin(), rigid.end(), m->site_bodyid[s]) != rigid.end()) spec.end_effector_site = Name(m, mjOBJ_SITE, s);
    }
    if (spec.end_effector_site.empty()) {
      const Eigen::Vector3d anchor = Eigen::Map<const Eigen::Vector3d>(d->xanchor + 3 * joints.back());
      const Eigen::Vector3d tip = GeomTip(m, d, last_body, anchor);
      const Eigen::Vector3d x = Eigen::Map<const Eigen::Vector3d>(d->xpos + 3 * last_body);
      const Eigen::Matrix<double, 3, 3, Eigen::RowMajor> R =
          Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>>(d->xmat + 9 * last_body);
      const Eigen::Vector3d offset = R.transpose() * (tip - x);
      spec.end_effector_body = Name(m, mjOBJ_BODY, last_body);
      if (spec.end_effector_body.empty()) f.Fail("end_effector", "is not given and the last arm body has no name");
      spec.end_effector_offset = {offset.x(), offset.y(), offset.z()};
    }
  }
  auto ee_at = [&]() -> Eigen::Vector3d {
    if (!spec.end_effector_site.empty()) {
      return Eigen::Map<const Eigen::Vector3d>(d->site_xpos + 3 * mj_name2id(m, mjOBJ_SITE, spec.end_effector_site.c_str()));
    }
    const int b = mj_name2id(m, mjOBJ_BODY, spec.end_effector_body.c_str());
    return Eigen::Map<const Eigen::Vector3d>(d->xpos + 3 * b) +
           Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>>(d->xmat + 9 * b) *
               Eigen::Vector3d(spec.end_effector_offset[0], spec.end_effector_offset[1], spec.end_effector_offset[2]);
  };

  // Where the end effector goes: random poses within the ranges (the default workspace is their
  // 5th..95th percentile box; each hinge's default action scale moves the end effector ~5 cm).
  std::mt19937_64 rng(0);
  std::vector<std::vector<double>> ee(3);
  std::vector<double> lever(n, 0);
  for (int s = 0; s < 400; ++s) {
    std::vector<double> q(n);
    for (int i = 0; i < n; ++i) q[i] = std::uniform_real_distribution<double>(lo[i], hi[i])(rng);
    set_pose(q);
    const Eigen::Vector3d p = ee_at();
    for (int k = 0; k < 3; ++k) ee[k].push_back(p[k]);
    for (int i = 0; i < n; ++i) {
      lever[i] = std::max(lever[i], (p - Eigen::Map<const Eigen::Vector3d>(d->xanchor + 3 * joints[i])).norm());
    }
  }
  if (f.Has("workspace")) {
    const auto w = f.Numbers("workspace", 6);
    for (int k = 0; k < 3; ++k) {
      if (!(w[2 * k] < w[2 * k + 1])) f.Fail("workspace", "must be [xmin, xmax, ymin, ymax, zmin, zmax] with min < max, got " + f.Get("workspace").dump());
    }
    std::copy(w.begin(), w.end(), spec.workspace.begin());
  } else {
    for (int k = 0; k < 3; ++k) {
      double a = Percentile(ee[k], 0.05), b = Percentile(ee[k], 0.95);
      if (b - a < 0.04) {  // a flat arm: give the box some depth
        const double c = 0.5 * (a + b);
        a = c - 0.02;
        b = c + 0.02;
      }
      spec.workspace[2 * k] = a;
      spec.workspace[2 * k + 1] = b;
    }
    // A floor (an upward plane of the world body) below the arm: the box starts 2 cm above it.
    mj_kinematics(m, d);
    for (int g = 0; g < m->ngeom; ++g) {
      if (m->geom_type[g] != mjGEOM_PLANE || m->geom_bodyid[g] != 0 || d->geom_xmat[9 * g + 8] < 0.99) continue;
      const double floor = d->geom_xpos[3 * g + 2] + 0.02;
      if (floor > spec.workspace[4] && floor + 0.04 <= spec.workspace[5]) spec.workspace[4] = floor;
    }
  }

  // Cameras: named, the model's first named camera, or one added looking at the workspace.
  if (!scene.cameras.empty()) {
    spec.cameras = scene.cameras;
  } else if (f.Has("cameras")) {
    spec.cameras = f.Strings("cameras");
    for (const auto& c : spec.cameras) {
      if (c != robots::kAddedCamera) f.Id(m, mjOBJ_CAMERA, "cameras", c, mjcf_name);
    }
  } else {
    for (int c = 0; c < m->ncam && spec.cameras.empty(); ++c) {
      if (!Name(m, mjOBJ_CAMERA, c).empty()) spec.cameras.push_back(Name(m, mjOBJ_CAMERA, c));
    }
    if (spec.cameras.empty() || f.Has("added_camera")) spec.cameras = {robots::kAddedCamera};
  }
  {
    // Default placement: the box around the workspace and the arm's base, all in view; from
    // straight above for a flat arm, else from the front-right, 30 degrees above.
    Eigen::Vector3d bmin(spec.workspace[0], spec.workspace[2], spec.workspace[4]);
    Eigen::Vector3d bmax(spec.workspace[1], spec.workspace[3], spec.workspace[5]);
    set_pose(spec.home_qpos);
    const Eigen::Vector3d base = Eigen::Map<const Eigen::Vector3d>(d->xanchor + 3 * joints[0]);
    bmin = bmin.cwiseMin(base);
    bmax = bmax.cwiseMax(base);
    const Eigen::Vector3d centre = 0.5 * (bmin + bmax), extent = bmax - bmin;
    const double radius = 0.5 * extent.norm();
    const bool flat = extent.z() < 0.15 * std::max(extent.x(), extent.y());
    auto& c = spec.added_camera;
    c.lookat = {centre.x(), centre.y(), centre.z()};
    c.distance = 1.1 * radius / std::sin(0.5 * m->vis.global.fovy * M_PI / 180);
    c.azimuth = flat ? 90 : 135;
    c.elevation = flat ? -90 : -30;
    if (f.Has("added_camera")) {
      const json& a = f.Get("added_camera");
      if (!a.is_object()) f.Fail("added_camera", "must be {\"lookat\": [x, y, z], \"distance\": m, \"azimuth\": deg, \"elevation\": deg}, got " + a.dump());
      for (const auto& [key, value] : a.items()) {
        if (key == "lookat") {
          const auto v = f.Numbers("added_camera", value, 3);
          c.lookat = {v[0], v[1], v[2]};
        } else if (key == "distance") {
          c.distance = f.Number("added_camera", value);
          if (c.distance <= 0) f.Fail("added_camera", "distance must be positive, got " + value.dump());
        } else if (key == "azimuth") {
          c.azimuth = f.Number("added_camera", value);
        } else if (key == "elevation") {
          c.elevation = f.Number("added_camera", value);
        } else {
          f.Fail("added_camera", "has unknown key \"" + key + "\", expected lookat, distance, azimuth, elevation");
        }
      }
    }
  }

  // Control period: 50 ms, a whole number of physics steps.
  const double ts = m->opt.timestep;
  spec.control_period = f.Has("control_period") ? f.Number("control_period") : std::max(1.0, std::round(0.05 / ts)) * ts;
  if (spec.control_period <= 0 || std::abs(spec.control_period / ts - std::round(spec.control_period / ts)) > 1e-6) {
    f.Fail("control_period", "is " + std::to_string(spec.control_period) + " s, expected a positive multiple of " +
                                 mjcf_name + "'s timestep " + std::to_string(ts) + " s");
  }

  // PD layer for motors (critically damped, settling within about half a control period at the
  // home pose's joint inertia) and velocity servos.
  if (spec.arm_drive != robots::Drive::kPosition) {
    if (f.Has("pd_gains")) {
      const json& g = f.Get("pd_gains");
      if (!g.is_object() || !g.contains("kp") || (spec.arm_drive == robots::Drive::kMotor && !g.contains("kd"))) {
        f.Fail("pd_gains", "must be {\"kp\": ..., \"kd\": ...} (a number or one per arm joint), got " + g.dump());
      }
      spec.pd_kp = f.Numbers("pd_gains", g["kp"], n, true);
      if (g.contains("kd")) spec.pd_kd = f.Numbers("pd_gains", g["kd"], n, true);
    } else if (spec.arm_drive == robots::Drive::kMotor) {
      set_pose(spec.home_qpos);
      mj_forward(m, d);
      std::vector<mjtNum> M(static_cast<size_t>(m->nv) * m->nv);
      mj_fullM(m, M.data(), d->qM);
      const double omega = std::min(6.0 / spec.control_period, 0.4 / ts);
      for (int i = 0; i < n; ++i) {
        const int dof = m->jnt_dofadr[joints[i]];
        const double inertia = M[static_cast<size_t>(dof) * m->nv + dof];
        spec.pd_kp.push_back(inertia * omega * omega);
        spec.pd_kd.push_back(2 * inertia * omega);
      }
    } else {
      spec.pd_kp.assign(n, 4.0 / spec.control_period);
    }
  } else if (f.Has("pd_gains")) {
    f.Fail("pd_gains", "applies to motor or velocity drives; these actuators are position servos");
  }

  // Actions.
  const std::string mode = f.Has("action_mode") ? f.String("action_mode") : "joint_delta";
  if (mode == "joint_delta" || mode == "joint_position_delta") {
    spec.action_mode = robots::ActionMode::kJointPositionDelta;
  } else if (mode == "joint_velocity") {
    spec.action_mode = robots::ActionMode::kJointVelocity;
  } else if (mode == "end_effector_delta") {
    spec.action_mode = robots::ActionMode::kEndEffectorDelta;
  } else {
    f.Fail("action_mode", "is " + Quote(mode) + ", expected joint_delta, joint_velocity or end_effector_delta");
  }
  const bool ee_mode = spec.action_mode == robots::ActionMode::kEndEffectorDelta;
  const int action_dim = ee_mode ? (!spec.gripper_actuator.empty() && spec.gripper_hold < 0 ? 4 : 3) : n;
  if (f.Has("action_scale")) {
    spec.action_scale = f.Numbers("action_scale", action_dim, true);
    for (double s : spec.action_scale) {
      if (s <= 0) f.Fail("action_scale", "must be positive, got " + f.Get("action_scale").dump());
    }
  } else if (ee_mode) {
    spec.action_scale = {0.025, 0.025, 0.025};
    if (action_dim == 4) spec.action_scale.push_back(1.0);
  } else {
    for (int i = 0; i < n; ++i) {
      const bool hinge = m->jnt_type[joints[i]] == mjJNT_HINGE;
      double s = hinge ? std::clamp(0.05 / std::max(lever[i], 1e-3), 0.02, 0.25) : 0.05;
      if (spec.action_mode == robots::ActionMode::kJointVelocity) s /= spec.control_period;
      spec.action_scale.push_back(s);
    }
  }
  spec.target_ramp = f.Has("target_ramp") ? f.Number("target_ramp") : 0.0;
  if (spec.target_ramp < 0 || spec.target_ramp > 1) f.Fail("target_ramp", "must be in [0, 1]");
  if (scene.block && spec.objects.empty()) {
    throw std::invalid_argument(file + " has no object to move (\"objects\": bodies with a free joint)");
  }

  // The spec must build: anything left inconsistent is reported against the description.
  try {
    Simulation check(spec, std::move(model));
  } catch (const std::exception& e) {
    throw std::invalid_argument(file + ": " + e.what());
  }
  return spec;
}

robots::RobotSpec MakeRobotSpec(const std::string& robot, const robots::SceneOptions& scene) {
  if (IsRobotFile(robot)) return LoadRobotDescription(robot, scene);
  return robots::MakeRobot(robot, scene);
}

json DescribeSpec(const robots::RobotSpec& s) {
  json j;
  j["robot"] = s.name;
  j["mjcf"] = s.mjcf_file.empty() ? "(built in)" : s.mjcf_file;
  j["arm_joints"] = s.arm_joints;
  j["actuators"] = s.arm_actuators;
  j["drive"] = robots::DriveName(s.arm_drive);
  if (s.arm_drive != robots::Drive::kPosition) j["pd_gains"] = {{"kp", s.pd_kp}, {"kd", s.pd_kd}};
  if (!s.end_effector_site.empty()) {
    j["end_effector"] = s.end_effector_site;
  } else {
    j["end_effector"] = s.end_effector_body;
    j["end_effector_offset"] = s.end_effector_offset;
  }
  if (!s.gripper_actuator.empty()) {
    j["gripper"] = {{"actuator", s.gripper_actuator}, {"open", s.gripper_range[0]}, {"closed", s.gripper_range[1]}};
  }
  j["cameras"] = s.cameras;
  if (std::find(s.cameras.begin(), s.cameras.end(), robots::kAddedCamera) != s.cameras.end()) {
    j["added_camera"] = {{"lookat", s.added_camera.lookat}, {"distance", s.added_camera.distance},
                         {"azimuth", s.added_camera.azimuth}, {"elevation", s.added_camera.elevation}};
  }
  j["home"] = s.home_qpos;
  j["workspace"] = s.workspace;
  j["control_period"] = s.control_period;
  j["action_mode"] = robots::ActionModeName(s.action_mode);
  j["action_scale"] = s.action_scale;
  j["target_ramp"] = s.target_ramp;
  j["objects"] = s.objects;
  return j;
}

}  // namespace jepa_mpc::sim
