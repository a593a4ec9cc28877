#include "sim/renderer.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "sim/mj.h"

#if defined(JEPA_MPC_RENDER_OSMESA)
#include <GL/osmesa.h>
#else
#include <EGL/egl.h>
#include <EGL/eglext.h>
#endif

namespace jepa_mpc::sim {

#if defined(JEPA_MPC_RENDER_OSMESA)

class GlContext {
 public:
  GlContext(int width, int height) : width_(width), height_(height), buffer_(width * height * 4) {
    ctx_ = OSMesaCreateContextExt(OSMESA_RGBA, 24, 8, 0, nullptr);
    if (!ctx_) throw std::runtime_error("OSMesa: could not create an OpenGL context");
    MakeCurrent();
  }
  ~GlContext() { OSMesaDestroyContext(ctx_); }
  void MakeCurrent() {
    if (!OSMesaMakeCurrent(ctx_, buffer_.data(), GL_UNSIGNED_BYTE, width_, height_)) {
      throw std::runtime_error("OSMesa: could not make the context current");
    }
  }
  void Release() {}  // an OSMesa context is made current in any thread without being released
  const std::string& backend() const { return backend_; }

 private:
  OSMesaContext ctx_ = nullptr;
  int width_, height_;
  std::vector<unsigned char> buffer_;
  std::string backend_ = "osmesa";
};

#else

namespace {

// One EGL display per process, initialised once; contexts are per Renderer.
struct EglDisplay {
  EGLDisplay display = EGL_NO_DISPLAY;
  std::string backend;
  std::string error;
};

const EglDisplay& GetEglDisplay() {
  static EglDisplay result;
  static std::once_flag once;
  std::call_once(once, [] {
    auto get_platform_display = reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(
        eglGetProcAddress("eglGetPlatformDisplayEXT"));
    auto query_devices =
        reinterpret_cast<PFNEGLQUERYDEVICESEXTPROC>(eglGetProcAddress("eglQueryDevicesEXT"));
    auto query_device_string = reinterpret_cast<PFNEGLQUERYDEVICESTRINGEXTPROC>(
        eglGetProcAddress("eglQueryDeviceStringEXT"));
    if (!get_platform_display) {
      result.error = "EGL has no eglGetPlatformDisplayEXT";
      return;
    }
    EGLint major = 0, minor = 0;
    // A hardware device first (a GPU), skipping Mesa's software device.
    if (query_devices && query_device_string) {
      EGLDeviceEXT devices[16];
      EGLint count = 0;
      if (query_devices(16, devices, &count)) {
        for (EGLint i = 0; i < count; ++i) {
          const char* ext = query_device_string(devices[i], EGL_EXTENSIONS);
          if (ext && std::strstr(ext, "EGL_MESA_device_software")) continue;
          EGLDisplay d = get_platform_display(EGL_PLATFORM_DEVICE_EXT, devices[i], nullptr);
          if (d != EGL_NO_DISPLAY && eglInitialize(d, &major, &minor)) {
            result.display = d;
            result.backend = "egl-device";
            return;
          }
        }
      }
    }
    EGLDisplay d = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
    if (d != EGL_NO_DISPLAY && eglInitialize(d, &major, &minor)) {
      result.display = d;
      result.backend = "egl-surfaceless";
      return;
    }
    result.error = "no EGL device or surfaceless display (is libegl-mesa0 installed?)";
  });
  return result;
}

}  // namespace

class GlContext {
 public:
  GlContext(int, int) {
    const EglDisplay& egl = GetEglDisplay();
    if (egl.display == EGL_NO_DISPLAY) throw std::runtime_error("EGL: " + egl.error);
    display_ = egl.display;
    backend_ = egl.backend;
    // MuJoCo draws into its own framebuffer object, so the config's surfaces are never used.
    const EGLint config_attribs[] = {EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RED_SIZE,   8,
                                     EGL_GREEN_SIZE,   8,               EGL_BLUE_SIZE,  8,
                                     EGL_DEPTH_SIZE,   24,              EGL_RENDERABLE_TYPE,
                                     EGL_OPENGL_BIT,   EGL_NONE};
    EGLConfig config;
    EGLint num_configs = 0;
    if (!eglChooseConfig(display_, config_attribs, &config, 1, &num_configs) || num_configs < 1) {
      throw std::runtime_error("EGL: no config with desktop OpenGL support");
    }
    if (!eglBindAPI(EGL_OPENGL_API)) throw std::runtime_error("EGL: cannot bind the OpenGL API");
    context_ = eglCreateContext(display_, config, EGL_NO_CONTEXT, nullptr);
    if (context_ == EGL_NO_CONTEXT) throw std::runtime_error("EGL: could not create a context");
    MakeCurrent();
  }
  ~GlContext() {
    if (eglGetCurrentContext() == context_) {
      eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    }
    eglDestroyContext(display_, context_);
  }
  void MakeCurrent() {
    if (eglGetCurrentContext() == context_) return;
    if (!eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, context_)) {
      throw std::runtime_error("EGL: could not make the context current");
    }
  }
  void Release() {
    if (eglGetCurrentContext() == context_) eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
  }
  const std::string& backend() const { return backend_; }

 private:
  EGLDisplay display_ = EGL_NO_DISPLAY;
  EGLContext context_ = EGL_NO_CONTEXT;
  std::string backend_;
};

#endif

Renderer::Renderer(const mjModel* model, const RenderOptions& options)
    : model_(model), options_(options) {
  if (!model) throw std::invalid_argument("renderer: model is null");
  if (options.width <= 0 || options.height <= 0) {
    throw std::invalid_argument("image size " + std::to_string(options.width) + "x" +
                                std::to_string(options.height) + " is invalid, expected positive");
  }
  const int offw = model->vis.global.offwidth, offh = model->vis.global.offheight;
  if (options.width > offw || options.height > offh) {
    throw std::invalid_argument("image size " + std::to_string(options.width) + "x" +
                                std::to_string(options.height) + " exceeds the offscreen buffer " +
                                std::to_string(offw) + "x" + std::to_string(offh));
  }
  InstallMujocoHandlers();
  // Mesa's software rasterizer splits each frame over worker threads; for small frames that
  // costs more than it saves (64x64: ~1950 vs ~1240 frames/s on 2 cores), and collection
  // already runs one renderer per core. A value set by the user wins.
  static std::once_flag once;
  std::call_once(once, [] { setenv("LP_NUM_THREADS", "0", 0); });
  gl_ = std::make_unique<GlContext>(offw, offh);
  mjv_defaultScene(&scene_);
  mjv_defaultCamera(&camera_);
  mjv_defaultOption(&option_);
  mjr_defaultContext(&context_);
  mjv_makeScene(model, &scene_, 1000);
  mjr_makeContext(model, &context_, mjFONTSCALE_100);
  mjr_setBuffer(mjFB_OFFSCREEN, &context_);
  if (context_.currentBuffer != mjFB_OFFSCREEN) {
    throw std::runtime_error("renderer: the offscreen framebuffer is not supported by this GL");
  }
  if (options.fast) {
    scene_.flags[mjRND_SHADOW] = 0;
    scene_.flags[mjRND_REFLECTION] = 0;
    scene_.flags[mjRND_SKYBOX] = 0;
    scene_.flags[mjRND_FOG] = 0;
    scene_.flags[mjRND_HAZE] = 0;
  }
  flipped_.resize(static_cast<size_t>(options.width) * options.height * 3);
}

Renderer::~Renderer() {
  gl_->MakeCurrent();
  mjr_freeContext(&context_);
  mjv_freeScene(&scene_);
}

const std::string& Renderer::backend() const { return gl_->backend(); }

void Renderer::Release() { gl_->Release(); }

void Renderer::Render(mjData* data, int camera_id, uint8_t* out) { RenderView(data, camera_id, true, out); }

void Renderer::RenderView(mjData* data, int camera_id, bool update_scene, uint8_t* out) {
  if (camera_id >= model_->ncam) {
    throw std::invalid_argument("camera id " + std::to_string(camera_id) + " out of range, model has " +
                                std::to_string(model_->ncam));
  }
  gl_->MakeCurrent();
  if (camera_id >= 0) {
    camera_.type = mjCAMERA_FIXED;
    camera_.fixedcamid = camera_id;
  } else {
    mjv_defaultFreeCamera(model_, &camera_);
  }
  if (update_scene) {
    mjv_updateScene(model_, data, &option_, nullptr, &camera_, mjCAT_ALL, &scene_);
  } else {
    mjv_updateCamera(model_, data, &camera_, &scene_);  // same geoms, another viewpoint
  }
  const mjrRect viewport = {0, 0, options_.width, options_.height};
  mjr_render(viewport, &scene_, &context_);
  mjr_readPixels(flipped_.data(), nullptr, viewport, &context_);
  const size_t row = static_cast<size_t>(options_.width) * 3;
  for (int r = 0; r < options_.height; ++r) {
    std::memcpy(out + r * row, flipped_.data() + (options_.height - 1 - r) * row, row);
  }
}

void Renderer::Render(mjData* data, const std::vector<int>& camera_ids, uint8_t* out) {
  const int V = static_cast<int>(camera_ids.size()), W = options_.width, H = options_.height;
  if (V == 0) throw std::invalid_argument("Render: no camera given");
  if (V == 1) return Render(data, camera_ids[0], out);
  if (W % V != 0) {
    throw std::invalid_argument("image width " + std::to_string(W) + " is not a multiple of the " +
                                std::to_string(V) + " camera views");
  }
  const int w = W / V;
  view_.resize(static_cast<size_t>(W) * H * 3);
  for (int v = 0; v < V; ++v) {
    RenderView(data, camera_ids[v], v == 0, view_.data());
    for (int r = 0; r < H; ++r) {
      for (int c = 0; c < w; ++c) {
        for (int k = 0; k < 3; ++k) {
          int sum = 0;
          for (int j = 0; j < V; ++j) sum += view_[(static_cast<size_t>(r) * W + c * V + j) * 3 + k];
          out[(static_cast<size_t>(r) * W + v * w + c) * 3 + k] = static_cast<uint8_t>((sum + V / 2) / V);
        }
      }
    }
  }
}

Image Renderer::Render(mjData* data, const std::vector<int>& camera_ids) {
  Image image;
  image.height = options_.height;
  image.width = options_.width;
  image.rgb.resize(static_cast<size_t>(image.height) * image.width * 3);
  Render(data, camera_ids, image.rgb.data());
  return image;
}

Image Renderer::Render(mjData* data, int camera_id) { return Render(data, std::vector<int>{camera_id}); }

std::vector<Projection> ProjectToImage(const mjModel* model, const mjData* data, const std::vector<int>& camera_ids,
                                       const double p[3], int width, int height) {
  std::vector<Projection> out(camera_ids.size());
  const int views = static_cast<int>(camera_ids.size());
  for (int v = 0; v < views; ++v) {
    const int id = camera_ids[v];
    if (id < 0 || id >= model->ncam) continue;
    // The camera frame's axes are the columns of cam_xmat: x right, y up, looking along -z.
    const mjtNum* pos = data->cam_xpos + 3 * id;
    const mjtNum* rot = data->cam_xmat + 9 * id;
    const double d[3] = {p[0] - pos[0], p[1] - pos[1], p[2] - pos[2]};
    double c[3];
    for (int k = 0; k < 3; ++k) c[k] = d[0] * rot[k] + d[1] * rot[3 + k] + d[2] * rot[6 + k];
    if (c[2] >= -1e-6) continue;  // behind the camera
    // MuJoCo's fovy is vertical; each view is rendered width x height, then narrowed to its share.
    const double f = 0.5 * height / std::tan(0.5 * model->cam_fovy[id] * M_PI / 180.0);
    const double x = 0.5 * width + f * c[0] / -c[2], y = 0.5 * height - f * c[1] / -c[2];
    out[v] = {x / views + static_cast<double>(v) * width / views, y, true};
  }
  return out;
}

}  // namespace jepa_mpc::sim
