#pragma once

// Headless MuJoCo rendering: an EGL context (the device platform on a GPU, Mesa's surfaceless
// platform otherwise) or OSMesa when built with JEPA_MPC_RENDER_BACKEND=OSMESA. One Renderer per
// thread; it owns its GL context and makes it current on each call. A renderer used in another
// thread than the last must have been released there (Release) first.

#include <mujoco/mujoco.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace jepa_mpc::sim {

struct RenderOptions {
  int width = 64;
  int height = 64;
  // Fast mode for data collection: no shadows, reflections, skybox, fog or haze.
  bool fast = true;
};

// An RGB image, rows top to bottom: pixel (r, c) channel k is rgb[(r * width + c) * 3 + k].
struct Image {
  int height = 0;
  int width = 0;
  std::vector<uint8_t> rgb;
};

class GlContext;

// Where world point p (m) appears in a width x height image that Render(data, camera_ids) draws:
// x (column, from the left) and y (row, from the top) in pixels, one per camera's view (each view
// occupies its share of the columns). A view in which p lies behind the camera, or a free camera
// (-1), gives no point: `visible` is false there. Needs data's camera poses (mj_kinematics).
struct Projection {
  double x = 0, y = 0;
  bool visible = false;
};
std::vector<Projection> ProjectToImage(const mjModel* model, const mjData* data, const std::vector<int>& camera_ids,
                                       const double p[3], int width, int height);

class Renderer {
 public:
  // Throws std::invalid_argument if the image is larger than the model's offscreen buffer
  // (visual/global offwidth x offheight) and std::runtime_error if no GL context can be made.
  Renderer(const mjModel* model, const RenderOptions& options = {});
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Renders the scene in `data` from camera `camera_id` (-1: free camera) into out, which holds
  // height * width * 3 bytes, upright. data is updated by mjv_updateScene only (no physics).
  void Render(mjData* data, int camera_id, uint8_t* out);
  Image Render(mjData* data, int camera_id);
  // The views of several cameras side by side, left to right, in one height x width image: each
  // is rendered at the full size and averaged down to width / cameras.size() columns. One camera
  // renders exactly as Render(data, id). Throws std::invalid_argument for no cameras or a width
  // that is not a multiple of their number.
  void Render(mjData* data, const std::vector<int>& camera_ids, uint8_t* out);
  Image Render(mjData* data, const std::vector<int>& camera_ids);

  int width() const { return options_.width; }
  int height() const { return options_.height; }
  // Unbinds the context from the calling thread, so that another thread may render with it
  // (an EGL context is current in one thread at a time).
  void Release();
  // "egl-device", "egl-surfaceless" or "osmesa".
  const std::string& backend() const;

 private:
  // update_scene false: only the camera moves (the scene already holds `data`'s geoms).
  void RenderView(mjData* data, int camera_id, bool update_scene, uint8_t* out);
  const mjModel* model_;
  RenderOptions options_;
  std::unique_ptr<GlContext> gl_;
  mjvScene scene_;
  mjvCamera camera_;
  mjvOption option_;
  mjrContext context_;
  std::vector<uint8_t> flipped_, view_;
};

}  // namespace jepa_mpc::sim
