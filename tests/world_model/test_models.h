#pragma once

// Tiny reacher2d model metadata for tests that need a model but no training.

#include "world_model/world_model.h"

namespace jepa_mpc::testing {

// 32 x 32 images, 4 keypoints, D = 8.
inline world_model::ModelMeta Meta(int64_t history = 1) {
  world_model::ModelMeta m;
  m.robot = "reacher2d";
  m.task = "reach2d";
  m.action_mode = "joint_position_delta";
  m.camera = "top";
  m.image_size = 32;
  m.action_dim = 2;
  m.config.latent_dim = 8;
  m.config.keypoints = 4;
  m.config.channels = 8;
  m.config.hidden = 32;
  m.config.layers = 2;
  m.config.history = history;
  return m;
}

// A model that also takes the joint state (reacher2d: 2 angles, 4 standardised features).
inline world_model::ModelMeta ProprioMeta(int64_t history = 1) {
  world_model::ModelMeta m = Meta(history);
  m.config.proprio = true;
  m.proprio_dim = 2;
  m.proprio_mean = {0.0, 0.1, 0.2, 0.3};
  m.proprio_std = {0.7, 0.6, 0.7, 0.5};
  return m;
}

}  // namespace jepa_mpc::testing
