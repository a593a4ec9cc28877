#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "sim/collector.h"
#include "tests/temp_dir.h"
#include "util/atomic_file.h"
#include "util/csv.h"
#include "world_model/checkpoint.h"
#include "world_model/energy.h"
#include "world_model/goal_cost.h"
#include "world_model/losses.h"
#include "world_model/quality.h"
#include "world_model/surprise.h"
#include "world_model/trainer.h"

namespace jepa_mpc::world_model {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// A small reach2d dataset (32x32 images) collected once for the whole suite.
class WorldModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new jepa_mpc::testing::TempDir("jepa_wm_test");
    data_ = new TrainingData(LoadTrainingData(CollectReach2d(*dir_ / "data.h5", 8, 3), 0.25, 4));
  }
  // Collects a reach2d dataset of 24-step episodes to out; returns out.
  static std::string CollectReach2d(const std::string& out, int episodes, uint64_t seed, int image_size = 32) {
    sim::CollectOptions o;
    o.task = "reach2d";
    o.episodes = episodes;
    o.steps = 24;
    o.image_size = image_size;
    o.seed = seed;
    o.threads = 2;
    o.out = out;
    sim::Collect(o);
    return out;
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete data_;
  }
  void SetUp() override {
    torch::manual_seed(0);
    at::set_num_threads(1);
  }
  static TrainConfig TinyConfig() {
    TrainConfig c;
    c.model.latent_dim = 8;
    c.model.channels = 8;
    c.model.keypoints = 4;
    c.model.hidden = 64;
    c.model.layers = 2;
    c.batch_size = 16;
    c.sequence_length = 4;
    c.lambda = TrainConfig().lambda;  // the default recipe
    c.steps = 20;
    c.checkpoint_every = 10;
    c.threads = 1;
    c.learning_rate = 3e-3;
    return c;
  }
  static ModelMeta TinyMeta(int64_t history = 1, bool projector = false) {
    TrainConfig c = TinyConfig();
    c.model.history = history;
    c.model.projector = projector;
    return MakeMeta(c, *data_);
  }
  // A keypoint encoder over two camera views side by side: 4 keypoints each, D = 16.
  static ModelConfig TwoViewKeypoints() {
    ModelConfig kc;
    kc.latent_dim = 16;
    kc.channels = 8;
    kc.keypoints = 4;
    kc.views = 2;
    kc.projector = false;
    return kc;
  }
  // A keypoint encoder for kc (two views, object_keypoints 1) whose object trunk sees red: the red
  // channel's centre tap through every layer to each view's object map, its other weights zero.
  static std::shared_ptr<KeypointEncoder> RedSeeingObjectEncoder(const ModelConfig& kc) {
    auto encoder = std::make_shared<KeypointEncoder>(kc, 64);
    torch::NoGradGuard no_grad;
    for (auto& p : encoder->named_parameters()) {
      if (p.key().rfind("object_trunk.", 0) == 0) p.value().zero_();
    }
    auto params = encoder->named_parameters();
    params["object_trunk.0.weight"][0][0][2][2] = 1;  // red, centre tap -> channel 0
    params["object_trunk.2.weight"][0][0][1][1] = 1;
    params["object_trunk.4.weight"][0][0][1][1] = 1;
    for (int64_t v = 0; v < 2; ++v) params["object_trunk.6.weight"][v][0][0][0] = 1;
    return encoder;
  }
  // A red square in the left view only.
  static torch::Tensor RedSquareImage() {
    auto images = torch::zeros({1, 3, 64, 64});
    images[0][0].narrow(0, 20, 6).narrow(1, 8, 6) = 1;
    return images;
  }
  // A tiny model with one object keypoint, in training mode, its training config and a batch.
  std::tuple<WorldModel, TrainConfig, Batch> TinyObjectModel() {
    ModelMeta meta = TinyMeta();
    meta.config.object_keypoints = 1;
    WorldModel model(meta);
    model->train();
    TrainConfig c = TinyConfig();
    c.model = meta.config;
    std::mt19937_64 rng(7);
    return {model, c, SampleBatch(data_->train, 4, 4, rng)};
  }
  std::string Out(const std::string& name) { return *dir_ / name; }

  static jepa_mpc::testing::TempDir* dir_;
  static TrainingData* data_;
};
jepa_mpc::testing::TempDir* WorldModelTest::dir_ = nullptr;
TrainingData* WorldModelTest::data_ = nullptr;

TEST_F(WorldModelTest, SigRegIsSmallForGaussianAndLargeForCollapsed) {
  auto gen = at::detail::createCPUGenerator(1);
  auto gaussian = torch::randn({512, 16}, gen);
  auto collapsed = torch::zeros({512, 16});
  auto low_rank = torch::randn({512, 1}, gen) * torch::ones({1, 16});  // rank one
  auto shifted = gaussian + 2.0;
  const double g = SIGReg(gaussian, 64, 7).item<double>();
  EXPECT_LT(g, 2.0);
  EXPECT_GT(SIGReg(collapsed, 64, 7).item<double>(), 50 * g);
  EXPECT_GT(SIGReg(low_rank, 64, 7).item<double>(), 10 * g);
  EXPECT_GT(SIGReg(shifted, 64, 7).item<double>(), 50 * g);
  // VICReg agrees on the ordering.
  EXPECT_LT(VICReg(gaussian).item<double>(), VICReg(low_rank).item<double>());
  EXPECT_LT(VICReg(gaussian).item<double>(), VICReg(collapsed).item<double>());
}

TEST_F(WorldModelTest, EffectiveRankMeasuresDimensions) {
  auto gen = at::detail::createCPUGenerator(2);
  EXPECT_GT(EffectiveRank(torch::randn({2000, 8}, gen)), 7.5);
  EXPECT_NEAR(EffectiveRank(torch::randn({2000, 1}, gen) * torch::ones({1, 8})), 1.0, 0.01);
}

TEST_F(WorldModelTest, GradientsReachEncoderAndPredictor) {
  WorldModel model(TinyMeta());
  model->train();
  std::mt19937_64 rng(1);
  Batch b = SampleBatch(data_->train, 8, 4, rng);
  const int64_t B = 8, L = 4;
  auto z = model->encoder->forward(b.images.reshape({B * L, 3, 32, 32})).reshape({B, L, -1});
  auto pred = RolloutPredictor(model->predictor, z.narrow(1, 0, 1), torch::zeros({B, 0, 2}),
                               b.actions.narrow(1, 0, 3));
  auto loss = torch::mse_loss(pred, z.narrow(1, 1, 3)) + 0.1 * SIGReg(z.reshape({B * L, -1}), 16, 0);
  loss.backward();
  int with_grad = 0, total = 0;
  for (const auto& p : model->named_parameters()) {
    ++total;
    if (p.value().grad().defined() && p.value().grad().abs().sum().item<double>() > 0) ++with_grad;
    else ADD_FAILURE() << "no gradient reaches " << p.key();
  }
  EXPECT_EQ(with_grad, total);
}

TEST_F(WorldModelTest, BatchedRolloutEqualsPerSampleRollout) {
  for (int64_t history : {1, 2}) {
    WorldModel model(TinyMeta(history));
    auto z0 = torch::randn({5, history, 8});
    auto actions = torch::rand({5, 6, 2}) * 2 - 1;
    auto batched = model->Rollout(z0, actions);
    ASSERT_EQ(batched.sizes(), (std::vector<int64_t>{5, 6, 8}));
    for (int64_t i = 0; i < 5; ++i) {
      auto single = model->Rollout(z0.narrow(0, i, 1), actions.narrow(0, i, 1));
      EXPECT_TRUE(torch::allclose(batched.narrow(0, i, 1), single, 1e-5, 1e-6)) << "sample " << i;
    }
    // The differentiable rollout computes the same values and lets gradients reach the actions.
    auto a = actions.clone().requires_grad_(true);
    auto diff = model->RolloutDifferentiable(z0, a);
    EXPECT_TRUE(torch::allclose(diff, batched, 1e-5, 1e-6));
    diff.pow(2).sum().backward();
    EXPECT_GT(a.grad().abs().sum().item<double>(), 0);
  }
}

TEST_F(WorldModelTest, BFloat16HiddenLayersPlanCloseToFloatAndLeaveTrainingInFloat) {
  torch::manual_seed(3);
  WorldModel model(TinyMeta(1));
  model->eval();
  auto z0 = torch::randn({64, 1, 8});
  auto actions = torch::rand({64, 12, 2}) * 2 - 1;
  const auto full = model->Rollout(z0, actions);
  model->predictor->set_bfloat16_hidden(true);
  const auto reduced = model->Rollout(z0, actions);
  // Rounded inputs and weights: not the same numbers, but each step's move is the float one to
  // within a few bfloat16 roundings (8 significant bits) of the layers' sizes.
  EXPECT_FALSE(torch::equal(full, reduced));
  auto moves = [&](const torch::Tensor& z) { return torch::cat({z.narrow(1, 0, 1) - z0, z.diff(1, 1)}, 1); };
  const double error = (moves(reduced) - moves(full)).abs().max().item<double>();
  const double scale = moves(full).abs().max().item<double>();
  EXPECT_LT(error, 0.02 * scale) << "error " << error << " against moves up to " << scale;
  // Where a gradient is recorded (training, the gradient planner) the predictor stays in float.
  auto a = actions.clone().requires_grad_(true);
  EXPECT_TRUE(torch::equal(model->RolloutDifferentiable(z0, a), full));
  // Weights changed in place (an optimizer step) are rounded again, not served from the last copy.
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->predictor->parameters()) p.add_(torch::randn_like(p) * p.std());
  }
  model->predictor->set_bfloat16_hidden(false);
  const auto changed = model->Rollout(z0, actions);
  model->predictor->set_bfloat16_hidden(true);
  const double after = (moves(model->Rollout(z0, actions)) - moves(changed)).abs().max().item<double>();
  EXPECT_LT(after, 0.02 * moves(changed).abs().max().item<double>());
}

TEST_F(WorldModelTest, ProprioModelRollsJointStatesForward) {
  TrainConfig c = TinyConfig();
  c.model.proprio = true;
  const ModelMeta meta = MakeMeta(c, *data_);
  ASSERT_EQ(meta.proprio_dim, 2);  // reacher2d: shoulder and elbow angles
  ASSERT_EQ(meta.proprio_mean.size(), 4u);
  WorldModel model(meta);
  EXPECT_EQ(model->state_dim(), 8 + 4);
  // The joint-state features are standardised over the training data.
  auto q = data_->train.qpos.reshape({-1, 2});
  auto features = model->State(torch::zeros({q.size(0), 8}), q).narrow(1, 8, 4);
  EXPECT_TRUE(torch::allclose(features.mean(0), torch::zeros({4}), 0, 1e-3)) << features.mean(0);
  EXPECT_TRUE(torch::allclose(features.std(0), torch::ones({4}), 0, 1e-2)) << features.std(0);
  EXPECT_THROW(model->State(torch::zeros({1, 8}), torch::Tensor()), c10::Error);
  EXPECT_THROW(model->State(torch::zeros({1, 8}), torch::zeros({1, 3})), c10::Error);
  EXPECT_THROW(model->Rollout(torch::zeros({2, 8}), torch::zeros({2, 3, 2})), c10::Error);

  auto s0 = model->State(torch::randn({5, 8}), torch::rand({5, 2}) * 4 - 2);
  auto actions = torch::rand({5, 6, 2}) * 2 - 1;
  auto batched = model->Rollout(s0, actions);
  ASSERT_EQ(batched.sizes(), (std::vector<int64_t>{5, 6, 12}));
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(torch::allclose(batched.narrow(0, i, 1), model->Rollout(s0.narrow(0, i, 1), actions.narrow(0, i, 1)),
                                1e-5, 1e-6));
  }
  // The joint state changes the predicted embeddings.
  auto other = model->State(s0.narrow(1, 0, 8), torch::rand({5, 2}) * 4 - 2);
  EXPECT_FALSE(torch::allclose(model->Rollout(other, actions).narrow(2, 0, 8), batched.narrow(2, 0, 8)));

  // A checkpoint keeps the statistics.
  SaveCheckpoint(Out("proprio.pt"), model, nullptr, {});
  WorldModel loaded = LoadCheckpoint(Out("proprio.pt")).model;
  EXPECT_EQ(nlohmann::json(loaded->meta()), nlohmann::json(meta));
  EXPECT_TRUE(torch::equal(loaded->Rollout(s0, actions), batched));
  // Metadata whose statistics do not fit the joint state is refused.
  ModelMeta bad = meta;
  bad.proprio_std.pop_back();
  EXPECT_THROW(WorldModel{bad}, std::invalid_argument);
  bad = meta;
  bad.proprio_dim = 0;
  EXPECT_THROW(WorldModel{bad}, std::invalid_argument);
}

TEST_F(WorldModelTest, LinearInverseDynamicsHeadIsLinearAndTrainsTheEncoder) {
  ModelMeta meta = TinyMeta();
  meta.config.inverse_dynamics = true;
  meta.config.inverse_dynamics_head = "linear";
  WorldModel model(meta);
  // One linear map from [z_t, z_t+1] (2D = 16) to the action (A = 2).
  int64_t count = 0;
  for (const auto& p : model->inverse_dynamics->parameters()) count += p.numel();
  EXPECT_EQ(count, 16 * 2 + 2);
  auto x = torch::randn({5, 16}), y = torch::randn({5, 16}), zero = torch::zeros({1, 16});
  auto f = [&](const torch::Tensor& v) { return model->inverse_dynamics->forward(v); };
  EXPECT_TRUE(torch::allclose(f(x + y) - f(y), f(x) - f(zero), 1e-4, 1e-5));
  // Its loss reaches the encoder.
  TrainConfig c = TinyConfig();
  c.model = meta.config;
  c.inverse_dynamics_weight = 1.0;
  std::mt19937_64 rng(7);
  Batch batch = SampleBatch(data_->train, 4, 4, rng);
  auto l = ComputeLosses(model, c, batch, 0);
  ASSERT_TRUE(std::isfinite(l.inverse_dynamics.item<double>()));
  EXPECT_GT(l.inverse_dynamics.item<double>(), 0.0);
  model->zero_grad();
  l.inverse_dynamics.backward();
  EXPECT_GT(model->encoder->named_parameters()["conv1.weight"].grad().abs().sum().item<double>(), 0.0);
  // It survives a checkpoint; an unknown head is refused.
  SaveCheckpoint(Out("linear_idm.pt"), model, nullptr, {});
  WorldModel loaded = LoadCheckpoint(Out("linear_idm.pt")).model;
  EXPECT_EQ(loaded->meta().config.inverse_dynamics_head, "linear");
  EXPECT_TRUE(torch::equal(loaded->inverse_dynamics->forward(x), f(x)));
  nlohmann::json j = meta.config;
  j["inverse_dynamics_head"] = "deep";
  ModelConfig bad;
  EXPECT_THROW(from_json(j, bad), std::invalid_argument);
}

TEST_F(WorldModelTest, CheckpointFromBeforeProprioLoadsWithout) {
  // An old checkpoint with an inverse-dynamics head: its head was the MLP.
  ModelMeta old_meta = TinyMeta();
  old_meta.config.inverse_dynamics = true;
  WorldModel model(old_meta);
  nlohmann::json meta = model->meta();
  meta["model"].erase("proprio");
  meta["model"].erase("views");
  meta["model"].erase("inverse_dynamics_head");
  meta["model"].erase("object_keypoints");
  meta["model"].erase("object_spread");
  meta.erase("antialias");
  torch::serialize::OutputArchive archive, weights;
  archive.write("format", c10::IValue(std::string("jepa-mpc-checkpoint")));
  archive.write("version", c10::IValue(int64_t{kCheckpointFormatVersion}));
  archive.write("meta", c10::IValue(meta.dump()));
  model->save(weights);
  archive.write("model", weights);
  archive.save_to(Out("before_proprio.pt"));
  WorldModel loaded = LoadCheckpoint(Out("before_proprio.pt")).model;
  EXPECT_EQ(loaded->proprio_dim(), 0);
  EXPECT_EQ(loaded->state_dim(), 8);
  EXPECT_EQ(loaded->meta().config.views, 1);
  EXPECT_EQ(loaded->meta().config.inverse_dynamics_head, "mlp");
  EXPECT_EQ(loaded->meta().config.object_keypoints, 0);
  EXPECT_FALSE(loaded->meta().config.object_spread);
  EXPECT_EQ(loaded->meta().antialias, -1);  // not recorded: tools render as the robot model does
}

TEST_F(WorldModelTest, TheTrainingImagesAntiAliasingTravelsWithTheCheckpoint) {
  ModelMeta meta = TinyMeta();
  EXPECT_EQ(meta.antialias, 0);  // the test data's images: rendered without
  meta.antialias = 4;
  WorldModel model(meta);
  SaveCheckpoint(Out("antialiased.pt"), model, nullptr, {});
  EXPECT_EQ(LoadCheckpoint(Out("antialiased.pt")).model->meta().antialias, 4);
  nlohmann::json j = meta;
  EXPECT_EQ(j.at("antialias"), 4);
  j.erase("antialias");
  EXPECT_EQ(j.get<ModelMeta>().antialias, -1);
}

TEST_F(WorldModelTest, EncoderKeepsEachCameraViewsKeypointsApart) {
  // Two views side by side: each has its own keypoints, found in that view alone.
  ModelConfig kc = TwoViewKeypoints();
  auto encoder = std::make_shared<KeypointEncoder>(kc, 64);
  encoder->eval();
  torch::NoGradGuard no_grad;
  auto images = torch::rand({2, 3, 64, 64}, torch::TensorOptions().dtype(torch::kFloat32));
  auto k = encoder->Keypoints(images);  // [2, 16]: x of keypoint m of view v at v * 4 + m, then ys
  ASSERT_EQ(k.sizes(), (std::vector<int64_t>{2, 16}));
  EXPECT_LE(k.abs().max().item<double>(), 1.0);
  // Repainting the right view away from the seam leaves every left-view point where it was and
  // moves the right-view ones (the conv stack sees about 6 pixels across the seam).
  auto changed = images.clone();
  changed.narrow(3, 44, 20).copy_(torch::rand({2, 3, 64, 20}));
  auto k2 = encoder->Keypoints(changed);
  auto left = torch::cat({torch::arange(0, 4), torch::arange(8, 12)});
  auto right = torch::cat({torch::arange(4, 8), torch::arange(12, 16)});
  EXPECT_TRUE(torch::equal(k.index_select(1, left), k2.index_select(1, left)));
  EXPECT_GT((k.index_select(1, right) - k2.index_select(1, right)).abs().max().item<double>(), 1e-3);
  // The embedding without a projector needs latent_dim = 2 * keypoints * views.
  kc.latent_dim = 8;
  EXPECT_THROW(KeypointEncoder(kc, 64), std::invalid_argument);
  // Training refuses a model whose views disagree with the dataset's camera label.
  TrainConfig c = TinyConfig();
  c.model.views = 2;
  c.model.latent_dim = 16;
  EXPECT_THROW(MakeMeta(c, *data_), std::invalid_argument);
  EXPECT_EQ(CameraViews("front+side"), 2);
  EXPECT_EQ(CameraViews("top"), 1);
}

TEST_F(WorldModelTest, ObjectEnergyWeighsTheGroupUniformlyOrByItsVariance) {
  ModelMeta m = TinyMeta();
  m.config.object_keypoints = 2;  // keypoints 2 and 3 of 4: coordinates 2, 3 (x) and 6, 7 (y)
  WorldModel model(m);
  model->eval();
  const auto uniform = ObjectGoalEnergy(model, *data_, 1.0);
  const auto by_variance = ObjectGoalEnergy(model, *data_, 1.0, true);
  EXPECT_EQ(uniform.weights, (std::vector<double>{0, 0, 1, 1, 0, 0, 1, 1}));
  // Each group keypoint by the variance of its x and y over the held-out frames, the largest 1.
  torch::NoGradGuard g;
  auto var = EncodeAll(model, data_->val).reshape({-1, 8}).to(torch::kDouble).var(0);
  const double v2 = (var[2] + var[6]).item<double>(), v3 = (var[3] + var[7]).item<double>();
  const double top = std::max(v2, v3);
  const std::vector<double> expected = {0, 0, v2 / top, v3 / top, 0, 0, v2 / top, v3 / top};
  ASSERT_EQ(by_variance.weights.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(by_variance.weights[i], expected[i], 1e-9) << i;
  EXPECT_LT(std::min(v2, v3) / top, 1.0);  // the two keypoints differ, so the weights do
  EXPECT_EQ(by_variance.reach, uniform.reach);  // the reaching term is the same
  TrainConfig c = TinyConfig();
  c.group_weights = "spread";
  EXPECT_THROW(c.Validate(), std::invalid_argument);
}

TEST_F(WorldModelTest, ObjectGroupComesFromItsOwnTrunkInEachView) {
  ModelConfig kc = TwoViewKeypoints();
  kc.object_keypoints = 1;
  // The group: the last keypoint of each view, x then y.
  EXPECT_TRUE(torch::equal(ObjectGroupIndices(kc), torch::tensor({3, 7, 11, 15}, torch::kLong)));
  auto encoder = std::make_shared<KeypointEncoder>(kc, 64);
  auto images = torch::rand({2, 3, 64, 64});
  auto k = encoder->Keypoints(images);
  ASSERT_EQ(k.sizes(), (std::vector<int64_t>{2, 16}));
  // The group's coordinates take gradients from the object trunk only, the rest from the main one.
  auto group = ObjectGroupIndices(kc);
  k.index_select(1, group).sum().backward();
  auto params = encoder->named_parameters();
  EXPECT_GT(params["object_trunk.0.weight"].grad().abs().sum().item<double>(), 0.0);
  EXPECT_FALSE(params["conv1.weight"].grad().defined() &&
               params["conv1.weight"].grad().abs().sum().item<double>() > 0);
  // Each view's object keypoint sees that view alone.
  torch::NoGradGuard no_grad;
  auto changed = images.clone();
  changed.narrow(3, 44, 20).copy_(torch::rand({2, 3, 64, 20}));
  auto k2 = encoder->Keypoints(changed);
  EXPECT_TRUE(torch::equal(k.select(1, 3), k2.select(1, 3)));
  EXPECT_GT((k.select(1, 7) - k2.select(1, 7)).abs().max().item<double>(), 1e-4);
  // As many as the keypoints, or with a projector, is refused.
  nlohmann::json j = kc;
  j["object_keypoints"] = 4;
  ModelConfig bad;
  EXPECT_THROW(from_json(j, bad), std::invalid_argument);
  j["object_keypoints"] = 1;
  j["projector"] = true;
  EXPECT_THROW(from_json(j, bad), std::invalid_argument);
}

TEST_F(WorldModelTest, ObjectSpreadTellsASeenObjectFromAHiddenOne) {
  // Two views, one object keypoint each; its trunk wired to see red alone, so its attention
  // gathers on a red square where there is one and spreads evenly over a view without one.
  ModelConfig kc = TwoViewKeypoints();
  kc.object_keypoints = 1;
  kc.object_spread = true;
  EXPECT_THROW(KeypointEncoder(kc, 64), std::invalid_argument);  // latent_dim still 16
  EXPECT_THROW(kc.Validate(), std::invalid_argument);
  kc.latent_dim = 18;  // 2 x 4 keypoints x 2 views + 1 spread per view
  kc.Validate();
  EXPECT_EQ(kc.CoordinateDims(), 16);
  EXPECT_EQ(kc.SpreadDims(), 2);
  auto encoder = RedSeeingObjectEncoder(kc);
  const auto images = RedSquareImage();
  auto z = encoder->forward(images);
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{1, 18}));
  // The coordinates as before (times 3), then each view's object keypoint spread (times 3).
  EXPECT_TRUE(torch::allclose(z.narrow(1, 0, 16), 3.0 * encoder->Keypoints(images)));
  const double seen = z[0][16].item<double>() / 3, hidden = z[0][17].item<double>() / 3;
  EXPECT_LT(seen, 0.2);
  // Uniform over the right view's 16 x 32 map (the first conv halves the 32 x 64 view): the
  // variance of n evenly spaced points on [-1, 1] is (n + 1) / (3 (n - 1)).
  EXPECT_NEAR(hidden, std::sqrt(17.0 / 45.0 + 33.0 / 93.0), 1e-3);
  // The spread reads the encoder without training it.
  z.narrow(1, 16, 2).sum().backward();
  for (auto& p : encoder->named_parameters()) {
    EXPECT_FALSE(p.value().grad().defined() && p.value().grad().abs().sum().item<double>() > 0) << p.key();
  }
  // The object energy weighs each spread as its keypoint's coordinates.
  ModelMeta m = TinyMeta();
  m.config.object_keypoints = 2;
  m.config.object_spread = true;
  m.config.latent_dim = 10;
  WorldModel model(m);
  model->eval();
  const auto energy = ObjectGoalEnergy(model, *data_, 1.0);
  EXPECT_EQ(energy.weights, (std::vector<double>{0, 0, 1, 1, 0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(energy.reach.size() % 10, 0u);
}

TEST_F(WorldModelTest, ObjectSharpnessScoresTheObjectAttentionsVariance) {
  // The red-seeing object trunk of the test above, without the spread in the embedding: its
  // attention's variance comes with the embedding, with gradient, for the sharpness loss.
  ModelConfig kc = TwoViewKeypoints();
  kc.object_keypoints = 1;
  auto encoder = RedSeeingObjectEncoder(kc);
  const auto images = RedSquareImage();
  const auto [z, variance] = encoder->ForwardWithObjectVariance(images);
  EXPECT_TRUE(torch::allclose(encoder->forward(images), z));  // the embedding is forward's
  ASSERT_TRUE(variance.defined());
  ASSERT_EQ(variance.sizes(), (std::vector<int64_t>{1, 2}));
  EXPECT_LT(variance[0][0].item<double>(), 0.04);                              // gathered on the square
  EXPECT_NEAR(variance[0][1].item<double>(), 17.0 / 45.0 + 33.0 / 93.0, 1e-3);  // even over the view
  variance.sum().backward();  // it trains the object trunk
  EXPECT_GT(encoder->named_parameters()["object_trunk.6.weight"].grad().abs().sum().item<double>(), 0.0);

  // The training loss adds object_sharpness times its mean; a model without the group is refused.
  auto [model, c, batch] = TinyObjectModel();
  const double plain = ComputeLosses(model, c, batch, 0).total.item<double>();
  c.object_sharpness = 2;
  const double sharp = ComputeLosses(model, c, batch, 0).total.item<double>();
  const double mean =
      model->encoder->ForwardWithObjectVariance(batch.images.reshape({-1, 3, batch.images.size(3), batch.images.size(4)}))
          .second.mean()
          .item<double>();
  EXPECT_GT(mean, 0.0);
  EXPECT_NEAR(sharp - plain, 2 * mean, 1e-4);
  c.Validate();
  c.model.object_keypoints = 0;
  EXPECT_THROW(c.Validate(), std::invalid_argument);
  c.model.object_keypoints = 1;
  c.object_sharpness = -1;
  EXPECT_THROW(c.Validate(), std::invalid_argument);
}

TEST(ShiftImagesTest, MovesEachViewWithinItsOwnColumnsByFractionsOfAPixel) {
  auto images = torch::zeros({2, 3, 8, 16});  // two views of 8 columns each
  images[0][1][3][2] = 1;                     // view 0, x 2, y 3
  images[1][1][3][7] = 1;                     // view 0's last column
  auto moved = ShiftImages(images, torch::tensor({{2.0, 1.0}, {1.0, 0.0}}), 2);
  ASSERT_EQ(moved.sizes(), images.sizes());
  EXPECT_NEAR(moved[0][1][4][4].item<double>(), 1.0, 1e-5);  // two right, one down
  EXPECT_NEAR(moved[0].sum().item<double>(), 1.0, 1e-5);
  EXPECT_NEAR(moved[1].narrow(2, 8, 8).abs().sum().item<double>(), 0.0, 1e-6);  // nothing crosses into view 1
  auto half = ShiftImages(images, torch::tensor({{0.5, 0.0}, {0.0, -0.25}}), 2);
  EXPECT_NEAR(half[0][1][3][2].item<double>(), 0.5, 1e-5);  // between two pixels
  EXPECT_NEAR(half[0][1][3][3].item<double>(), 0.5, 1e-5);
  EXPECT_NEAR(half[1][1][3][7].item<double>(), 0.75, 1e-5);
  EXPECT_NEAR(half[1][1][2][7].item<double>(), 0.25, 1e-5);
  EXPECT_TRUE(torch::allclose(ShiftImages(images, torch::zeros({2, 2}), 2), images, 1e-5, 1e-6));
  EXPECT_THROW(ShiftImages(images, torch::zeros({2, 2}), 3), c10::Error);
}

TEST_F(WorldModelTest, ObjectEquivarianceAsksTheGroupToFollowTheImageBetweenCells) {
  // The red-seeing object trunk of the tests above reads a red square to the nearest cell of its
  // 16 x 16 map (2 pixels of a view): moved by whole cells, its reading moved back is where it
  // read the square before; moved by a fraction of a cell, it is not, and the loss sees that.
  ModelConfig kc = TwoViewKeypoints();
  kc.object_keypoints = 1;
  auto encoder = RedSeeingObjectEncoder(kc);
  const auto images = RedSquareImage();
  const auto group = ObjectGroupIndices(kc);          // x0 x1 y0 y1: the left view's keypoint first
  const auto before = encoder->forward(images).index_select(1, group);
  const auto whole = encoder->ObjectGroupUnshifted(images, torch::tensor({{4.0, -2.0}}));
  EXPECT_NEAR(whole[0][0].item<double>(), before[0][0].item<double>(), 1e-3);
  EXPECT_NEAR(whole[0][2].item<double>(), before[0][2].item<double>(), 1e-3);
  // Not moved back, the reading differs by the move: 3 x 2 cells x 2 / 15 coordinates per cell.
  EXPECT_NEAR((encoder->forward(ShiftImages(images, torch::tensor({{4.0, -2.0}}), 2)).index_select(1, group) -
               before)[0][0].item<double>(), 3.0 * 2.0 * 2.0 / 15.0, 1e-3);
  const auto part = encoder->ObjectGroupUnshifted(images, torch::tensor({{0.5, 0.0}}));
  EXPECT_GT(std::abs(part[0][0].item<double>() - before[0][0].item<double>()), 0.05);  // a quarter cell missed

  // The training loss adds object_equivariance times it; a model without the group is refused.
  auto [model, c, batch] = TinyObjectModel();
  const auto plain = ComputeLosses(model, c, batch, 0);
  EXPECT_EQ(plain.equivariance.item<double>(), 0.0);
  c.object_equivariance = 3;
  const auto moved = ComputeLosses(model, c, batch, 0);
  EXPECT_GT(moved.equivariance.item<double>(), 0.0);
  EXPECT_NEAR(moved.total.item<double>() - plain.total.item<double>(), 3 * moved.equivariance.item<double>(), 1e-4);
  moved.total.backward();
  EXPECT_GT(model->encoder->named_parameters()["object_trunk.6.weight"].grad().abs().sum().item<double>(), 0.0);
  c.Validate();
  c.model.object_keypoints = 0;
  EXPECT_THROW(c.Validate(), std::invalid_argument);
  c.model.object_keypoints = 1;
  c.object_equivariance = -1;
  EXPECT_THROW(c.Validate(), std::invalid_argument);
}

TEST_F(WorldModelTest, ObjectGroupLossRewardsWhatStaysWithTheEpisode) {
  // D = 4 (x0 x1 y0 y1), keypoint 1 the group. Pairs of frames of 32 episodes whose group sits on
  // (a) something placed per episode that stayed put (an object), (b) something that moved on
  // between the frames (the arm), (c) the same place in every episode (the background).
  ModelConfig kc;
  kc.keypoints = 2;
  kc.latent_dim = 4;
  kc.object_keypoints = 1;
  torch::Generator gen = at::detail::createCPUGenerator(11);
  const int64_t B = 32;
  auto other = torch::randn({B, 2}, gen);
  auto make = [&](const torch::Tensor& group) {  // [B, 2] -> [B, 4]
    return torch::stack({other.select(1, 0), group.select(1, 0), other.select(1, 1), group.select(1, 1)}, 1);
  };
  auto placed = torch::randn({B, 2}, gen);
  const double object =
      ObjectGroupLoss(make(placed), make(placed + 0.05 * torch::randn({B, 2}, gen)), kc).item<double>();
  const double arm = ObjectGroupLoss(make(torch::randn({B, 2}, gen)), make(torch::randn({B, 2}, gen)), kc)
                         .item<double>();
  const double background = ObjectGroupLoss(make(torch::zeros({B, 2})), make(torch::zeros({B, 2})), kc)
                                .item<double>();
  EXPECT_LT(object, 1.0);                            // 32 placements in N(0, 1): a few lie close
  EXPECT_GT(arm, 2.0);                               // chance is log 32 = 3.47
  EXPECT_NEAR(background, std::log(32.0), 1e-4);     // nothing tells the episodes apart
  // Only the group's coordinates get the gradient.
  auto z = make(torch::randn({B, 2}, gen)).requires_grad_(true);
  ObjectGroupLoss(z, make(placed), kc).backward();
  EXPECT_EQ(z.grad().select(1, 0).abs().sum().item<double>(), 0.0);
  EXPECT_GT(z.grad().select(1, 1).abs().sum().item<double>(), 0.0);
  // The option needs the group.
  TrainConfig c = TinyConfig();
  c.object_weight = 1;
  EXPECT_THROW(c.Validate(), std::invalid_argument);
  c.model.object_keypoints = 1;
  EXPECT_NO_THROW(c.Validate());
}

TEST_F(WorldModelTest, PairedFramesComeFromTheSameEpisodeFarEnoughApart) {
  const Trajectories& d = data_->train;
  // Where a frame is in the data: (episode, step).
  auto locate = [&](const torch::Tensor& image) {
    for (int64_t e = 0; e < d.episodes(); ++e) {
      for (int64_t t = 0; t < d.length(); ++t) {
        if (torch::equal(ToFloatImages(d.images[e][t]), image)) return std::make_pair(e, t);
      }
    }
    return std::make_pair<int64_t, int64_t>(-1, -1);
  };
  std::mt19937_64 rng(5), rng_plain(5);
  const int64_t gap = 8;
  Batch b = SampleBatch(d, 12, 4, rng, gap);
  ASSERT_EQ(b.pair_images.sizes(), (std::vector<int64_t>{12, 3, 32, 32}));
  for (int64_t i = 0; i < 12; ++i) {
    auto [e, s] = locate(b.images[i][0]);
    auto [pe, t] = locate(b.pair_images[i]);
    ASSERT_GE(e, 0);
    EXPECT_EQ(pe, e);
    EXPECT_GE(std::abs(t - s), gap);
  }
  // Without pairs, no pair images; the first sub-trajectory (drawn before any pair) is the same.
  Batch plain = SampleBatch(d, 12, 4, rng_plain);
  EXPECT_FALSE(plain.pair_images.defined());
  EXPECT_TRUE(torch::equal(plain.images[0], b.images[0]));
}

TEST_F(WorldModelTest, MovingWindowsFindTheObjectsMotionAndTheSamplerFavoursThem) {
  // Synthetic trajectories: 3 episodes of 10 frames; the object moves 2 cm between frames 4 and 5
  // of episode 1 and 1 mm per frame in episode 2 (below the 5 mm threshold over 3 steps).
  Trajectories d;
  const int64_t E = 3, T = 10;
  d.images = torch::arange(E * T, torch::kLong).to(torch::kUInt8).reshape({E, T, 1, 1, 1}).expand({E, T, 3, 2, 2}).contiguous();
  d.actions = torch::zeros({E, T, 2});
  d.ee_pos = torch::zeros({E, T, 3});
  d.qpos = torch::zeros({E, T, 2});
  d.object_pos = torch::zeros({E, T, 3});
  d.object_pos[1].narrow(0, 5, T - 5).select(1, 0).fill_(0.02);
  d.object_pos[2].select(1, 1).copy_(torch::arange(T, torch::kFloat) * 0.001);
  const std::vector<Window> moving = MovingWindows(d, 4, 0.005);
  // Windows of 4 frames starting at 2, 3 and 4 span the jump (4 -> 5).
  ASSERT_EQ(moving.size(), 3u);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(moving[i].episode, 1);
    EXPECT_EQ(moving[i].start, 2 + i);
  }
  EXPECT_TRUE(MovingWindows(d, 4, 0.05).empty());  // 2 cm is below 5 cm
  Trajectories still = d;
  still.object_pos = torch::zeros({E, T, 0});
  EXPECT_TRUE(MovingWindows(still, 4, 0.005).empty());  // no objects
  // Share 1: every sub-trajectory is a moving window (its first frame's value says where it is).
  std::mt19937_64 rng(3);
  const Batch b = SampleBatch(d, 40, 4, rng, 0, 0, -1, &moving, 1.0);
  for (int64_t i = 0; i < 40; ++i) {
    const int64_t first = std::lround(b.images[i][0][0][0][0].item<double>() * 255);
    EXPECT_EQ(first / T, 1) << i;
    EXPECT_GE(first % T, 2) << i;
    EXPECT_LE(first % T, 4) << i;
  }
  // Share 0.5: about half (binomial, 400 draws: 0.5 +- 0.1 is 4 standard deviations).
  const Batch half = SampleBatch(d, 400, 4, rng, 0, 0, -1, &moving, 0.5);
  int favoured = 0;
  for (int64_t i = 0; i < 400; ++i) {
    const int64_t first = std::lround(half.images[i][0][0][0][0].item<double>() * 255);
    favoured += first / T == 1 && first % T >= 2 && first % T <= 4;
  }
  EXPECT_GT(favoured, 160);  // uniform draws land there too, 3 windows in 21
  EXPECT_LT(favoured, 280);
  // Share 0 draws what the sampler drew without the option.
  std::mt19937_64 a(9), c(9);
  EXPECT_TRUE(torch::equal(SampleBatch(d, 6, 4, a).images, SampleBatch(d, 6, 4, c, 0, 0, -1, &moving, 0.0).images));
  EXPECT_THROW(SampleBatch(d, 6, 4, a, 0, 0, -1, nullptr, 0.5), c10::Error);
  TrainConfig cfg = TinyConfig();
  cfg.moving_share = 1;
  EXPECT_THROW(cfg.Validate(), std::invalid_argument);
  cfg.moving_share = 0;
  cfg.object_pair_still = -1;
  EXPECT_THROW(cfg.Validate(), std::invalid_argument);

  // Still pairs: 3 or more steps apart, the object within 5 mm of where it was. In episode 1 the
  // object jumps between frames 4 and 5, so a sub-trajectory starting at 3 or 4 pairs with a frame
  // before 5, one starting at 5 or 6 with one from 8 on (the others have no still frame 3 away and
  // pair as without the option).
  std::mt19937_64 r(4);
  const Batch pairs = SampleBatch(d, 300, 2, r, 3, 0, -1, nullptr, 0, 0.005);
  int in_one = 0;
  for (int64_t i = 0; i < 300; ++i) {
    const int64_t first = std::lround(pairs.images[i][0][0][0][0].item<double>() * 255);
    const int64_t pair = std::lround(pairs.pair_images[i][0][0][0].item<double>() * 255);
    ASSERT_EQ(pair / T, first / T) << i;  // the same episode
    EXPECT_GE(std::abs(pair % T - first % T), 3) << i;
    const int64_t start = first % T;
    if (first / T == 1 && start >= 3 && start <= 6) {  // starts with a still frame 3 or more away
      ++in_one;
      EXPECT_EQ(pair % T >= 5, first % T >= 5) << "start " << first % T << " pair " << pair % T;
    }
  }
  EXPECT_GT(in_one, 20);
}

TEST_F(WorldModelTest, ProprioTrainingLearnsTheJointDynamics) {
  TrainConfig c = TinyConfig();
  c.model.proprio = true;
  c.steps = 150;
  c.checkpoint_every = 1000;
  std::vector<double> proprio;
  auto r = Train(c, *data_, Out("proprio_train"), false,
                 [&](const StepMetrics& m) { proprio.push_back(m.proprio); });
  ASSERT_EQ(proprio.size(), 150u);
  double first = 0, last = 0;
  for (int i = 0; i < 10; ++i) first += proprio[i], last += proprio[140 + i];
  EXPECT_LT(last, first / 5) << "first " << first / 10 << " last " << last / 10;
  QualityReport q = EvaluateQuality(r.model, *data_);
  for (double v : q.prediction_ratio) EXPECT_TRUE(std::isfinite(v));
  // The checkpoint carries the joint-state statistics it was trained with.
  EXPECT_EQ(LoadCheckpoint(Out("proprio_train") + "/checkpoint.pt").model->proprio_dim(), 2);
}

TEST_F(WorldModelTest, EncodeChecksImageSizeAndUsesEvalMode) {
  WorldModel model(TinyMeta(1, /*projector=*/true));  // with the BatchNorm projector
  EXPECT_THROW(model->Encode(torch::rand({2, 3, 64, 64})), c10::Error);
  model->train();
  auto images = torch::rand({4, 3, 32, 32});
  auto a = model->Encode(images);
  EXPECT_TRUE(model->is_training());  // mode restored
  // One image alone encodes to the same embedding as within a batch (no batch statistics).
  EXPECT_TRUE(torch::allclose(model->Encode(images.narrow(0, 1, 1)), a.narrow(0, 1, 1), 1e-5, 1e-6));
}

TEST_F(WorldModelTest, TinyModelOverfitsTwoEpisodes) {
  TrainingData two = *data_;
  two.train = data_->train.Slice(0, 2);
  TrainConfig c = TinyConfig();
  c.steps = 500;
  c.lambda = 0.001;  // anti-collapse only; memorising is the point here
  c.checkpoint_every = 1000;
  std::vector<double> pred;
  Train(c, two, Out("overfit"), false,
        [&](const StepMetrics& m) { pred.push_back(0.5 * (m.teacher_forcing + m.rollout)); });
  ASSERT_EQ(pred.size(), 500u);
  auto mean = [&](size_t from, size_t n) {
    double s = 0;
    for (size_t i = from; i < from + n; ++i) s += pred[i];
    return s / n;
  };
  EXPECT_LT(mean(480, 20), mean(0, 5) / 10.0) << "first " << mean(0, 5) << " last " << mean(480, 20);
}

TEST_F(WorldModelTest, CheckpointRoundTripsExactly) {
  WorldModel model(TinyMeta());
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3));
  const std::string path = Out("roundtrip.pt");
  SaveCheckpoint(path, model, &opt, {7, "rng", "{}", "{\"steps\":10}"});
  EXPECT_FALSE(fs::exists(util::TemporaryPathFor(path)));
  Checkpoint ck = LoadCheckpoint(path);
  EXPECT_EQ(ck.state.step, 7);
  EXPECT_EQ(ck.state.rng_state, "rng");
  EXPECT_EQ(ck.state.predictor_phase, "{\"steps\":10}");
  EXPECT_EQ(nlohmann::json(ck.model->meta()), nlohmann::json(model->meta()));
  auto a = model->named_parameters(), b = ck.model->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
  for (const auto& p : model->named_buffers()) {
    EXPECT_TRUE(torch::equal(p.value(), ck.model->named_buffers()[p.key()])) << p.key();
  }
  auto images = torch::rand({3, 3, 32, 32});
  EXPECT_TRUE(torch::equal(model->Encode(images), ck.model->Encode(images)));
}

TEST_F(WorldModelTest, JointStateR2SeparatesWhatTheJointsExplain) {
  // Column 0 is a smooth function of the joints, column 1 does not depend on them.
  torch::Generator gen = at::detail::createCPUGenerator(5);
  auto q = torch::rand({3000, 2}, gen) * 4 - 2;
  auto noise = torch::randn({3000, 1}, gen);
  auto z = torch::cat({torch::sin(q.select(1, 0)).unsqueeze(1) + 0.5 * q.select(1, 1).unsqueeze(1), noise}, 1);
  auto r2 = JointStateR2(z.slice(0, 0, 2500), q.slice(0, 0, 2500), z.slice(0, 2500), q.slice(0, 2500));
  EXPECT_GT(r2[0].item<double>(), 0.95);
  EXPECT_LT(r2[1].item<double>(), 0.1);
}

TEST_F(WorldModelTest, GoalEnergyWeighsAndReachesAsStated) {
  ModelMeta meta = TinyMeta();  // D = 8
  meta.energy.weights = {1, 0, 0, 0, 1, 0, 0, 0};
  meta.energy.reach = {1, -1, 0, 0, 0, 0, 0, 0};  // one row: z0 - z1
  meta.energy.reach_weight = 2;
  WorldModel model(meta);
  LatentGoalCost cost(model);
  cost.SetGoalEmbedding(torch::zeros({8}));
  auto z = torch::tensor({3.f, 7.f, 9.f, 9.f, 4.f, 9.f, 9.f, 9.f});
  EXPECT_NEAR(cost.Distance(z).item<double>(), 5.0, 1e-5);  // only dimensions 0 and 4 count
  EXPECT_NEAR(cost.Reach(z).item<double>(), 2 * 4.0, 1e-4);  // 2 * |3 - 7|
  // The planner's cost adds both at every step of the horizon.
  cost.SetContext(torch::zeros({1, 8}), {}, torch::zeros({1, model->proprio_dim()}));
  auto actions = torch::zeros({1, 3, 2});
  auto rolled = model->Rollout(model->State(torch::zeros({1, 8}), torch::zeros({1, model->proprio_dim()})), actions);
  const double expected = (cost.Distance(rolled) + cost.Reach(rolled)).sum().item<double>();
  EXPECT_NEAR(cost(actions)[0].item<double>(), expected, 1e-4);
  // It travels with the checkpoint; bad energies are refused.
  const std::string path = Out("energy.pt");
  SaveCheckpoint(path, model, nullptr, {});
  EXPECT_EQ(nlohmann::json(LoadCheckpoint(path).model->meta()), nlohmann::json(meta));
  GoalEnergy bad = meta.energy;
  bad.weights.pop_back();
  EXPECT_THROW(model->set_energy(bad), std::invalid_argument);
  bad = meta.energy;
  bad.weights[0] = -1;
  EXPECT_THROW(model->set_energy(bad), std::invalid_argument);
}

TEST_F(WorldModelTest, PushOffsetDrawsTheHandBehindTheObjectAwayFromItsGoal) {
  ModelMeta meta = TinyMeta();  // D = 8; one view: the object at (z0, z1), the hand at (z2, z3)
  meta.energy.weights = {1, 1, 0, 0, 0, 0, 0, 0};
  meta.energy.reach = {-1, 0, 1, 0, 0, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0};  // hand - object
  meta.energy.object = {1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  meta.energy.units_per_metre = {100};  // a unit a centimetre
  meta.energy.reach_weight = 2;
  auto at = [](float ox, float oy, float hx, float hy) { return torch::tensor({ox, oy, hx, hy, 0.f, 0.f, 0.f, 0.f}); };
  {
    // Without an offset the hand is drawn onto the object, from whichever side.
    WorldModel model(meta);
    LatentGoalCost cost(model);
    cost.SetGoalEmbedding(torch::zeros({8}));
    EXPECT_NEAR(cost.Reach(at(10, 0, 7, 0)).item<double>(), 2 * 3.0, 1e-4);
    EXPECT_NEAR(cost.Reach(at(10, 0, 13, 0)).item<double>(), 2 * 3.0, 1e-4);
    // A hand read with a constant (a fitted hand, train --reach-hand fit): the hand's place is
    // (z2, z3) + (-3, 0), so (13, 0) reads as on the object.
    ModelMeta biased = meta;
    biased.energy.reach_bias = {-3, 0};
    WorldModel shifted(biased);
    LatentGoalCost shifted_cost(shifted);
    shifted_cost.SetGoalEmbedding(torch::zeros({8}));
    EXPECT_NEAR(shifted_cost.Reach(at(10, 0, 13, 0)).item<double>(), 0.0, 1e-4);
    EXPECT_NEAR(shifted_cost.Reach(at(10, 0, 7, 0)).item<double>(), 2 * 6.0, 1e-4);
  }
  meta.energy.reach_bias = {-3, 0};  // with the offset too: 3 cm behind the object is (16, 0)
  {
    meta.energy.push_offset = 0.03;
    WorldModel model(meta);
    LatentGoalCost cost(model);
    cost.SetGoalEmbedding(torch::zeros({8}));
    EXPECT_NEAR(cost.Reach(at(10, 0, 16, 0)).item<double>(), 0.0, 1e-4);
    const std::string path = Out("reach_bias.pt");
    SaveCheckpoint(path, model, nullptr, {});
    EXPECT_EQ(nlohmann::json(LoadCheckpoint(path).model->meta()), nlohmann::json(meta));
  }
  meta.energy.reach_bias.clear();
  meta.energy.push_offset = 0.03;
  WorldModel model(meta);
  LatentGoalCost cost(model);
  cost.SetGoalEmbedding(torch::zeros({8}));  // the goal's object at (0, 0)
  const double fade = 10 / std::sqrt(101.0);
  // 3 cm behind the object, on its far side from the goal: nothing; on the goal's side: 6 cm off.
  EXPECT_NEAR(cost.Reach(at(10, 0, 13, 0)).item<double>(), 0.0, 1e-4);
  EXPECT_NEAR(cost.Reach(at(10, 0, 7, 0)).item<double>(), 2 * fade * 6.0, 1e-4);
  EXPECT_NEAR(cost.Reach(at(0, -10, 0, -13)).item<double>(), 0.0, 1e-4);
  // The pull fades as the object nears its goal.
  EXPECT_NEAR(cost.Reach(at(0.5f, 0, 0.5f, 4)).item<double>(), 2 * (0.5 / std::sqrt(1.25)) * 5.0, 1e-3);
  // It travels with the checkpoint; inconsistent energies are refused.
  const std::string path = Out("push_offset.pt");
  SaveCheckpoint(path, model, nullptr, {});
  EXPECT_EQ(nlohmann::json(LoadCheckpoint(path).model->meta()), nlohmann::json(meta));
  GoalEnergy bad = meta.energy;
  bad.units_per_metre = {100, 100};
  EXPECT_THROW(model->set_energy(bad), std::invalid_argument);
  bad = meta.energy;
  bad.object.clear();
  bad.units_per_metre.clear();
  EXPECT_THROW(model->set_energy(bad), std::invalid_argument);
  bad = meta.energy;
  bad.units_per_metre = {0};
  EXPECT_THROW(model->set_energy(bad), std::invalid_argument);
  // The object energy needs the object's positions for an offset (this dataset has none).
  ModelMeta m = TinyMeta();
  m.config.object_keypoints = 2;
  WorldModel keypoints(m);
  keypoints->eval();
  EXPECT_TRUE(ObjectGoalEnergy(keypoints, *data_, 1.0).object.empty());
  EXPECT_THROW(ObjectGoalEnergy(keypoints, *data_, 1.0, false, 0.03), std::invalid_argument);
  // So does a hand fitted into the object's units.
  EXPECT_THROW(ObjectGoalEnergy(keypoints, *data_, 1.0, false, 0, ReachHand::kFit), std::invalid_argument);
  // A hand's constant per reach row, finite.
  bad = meta.energy;
  bad.reach_bias = {0.5};
  EXPECT_THROW(model->set_energy(bad), std::invalid_argument);
  bad.reach_bias = {0.5, std::nan("")};
  EXPECT_THROW(model->set_energy(bad), std::invalid_argument);
}

TEST_F(WorldModelTest, AHandReadFromTheRobotIsDrawnBehindTheObjectAtItsHeight) {
  ModelMeta meta = TinyMeta();  // D = 8; one view: the object at (z0, z1)
  meta.action_dim = 3;
  meta.energy.weights = {1, 1, 0, 0, 0, 0, 0, 0};
  meta.energy.reach = {-1, 0, 1, 0, 0, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0};
  meta.energy.object = {1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  meta.energy.units_per_metre = {100};       // a unit a centimetre
  meta.energy.table = {100, 0, 0, 100, 5, 0};  // keypoints = 100 x (table x, y) + (5, 0)
  meta.energy.reach_weight = 2;
  meta.energy.push_offset = 0.03;
  meta.energy.hand_step = {0.02, 0.02, 0.02};
  meta.energy.hand_box = {-1, 1, -1, 1, 0, 0.5};
  meta.energy.object_height = 0.025;
  WorldModel model(meta);
  LatentGoalCost cost(model);
  ASSERT_TRUE(cost.needs_hand());
  cost.SetGoalEmbedding(torch::tensor({5.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f}));  // the goal's object at (0, 0) m
  const auto object = torch::tensor({15.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f});     // the object at (0.1, 0) m
  auto reach = [&](float x, float y, float z) { return cost.Reach(object, torch::tensor({x, y, z})).item<double>(); };
  const double fade = 0.1 / std::sqrt(0.01 + 0.0001);
  // 3 cm behind the object, on its far side from the goal, at its height: nothing; held 10 cm
  // above that point: 10 cm off, which the image's hand could not tell.
  EXPECT_NEAR(reach(0.13f, 0, 0.025f), 0.0, 1e-3);
  EXPECT_NEAR(reach(0.13f, 0, 0.125f), 2 * fade * 10.0, 1e-3);
  EXPECT_NEAR(reach(0.07f, 0, 0.025f), 2 * fade * 6.0, 1e-3);
  EXPECT_THROW(cost.Reach(object), std::logic_error);  // such a model's reaching term needs the hand
  {
    // A wider fade lets the hand go nearer the goal: 10 cm off at 3 cm from it, by 3 / sqrt(9 + 16).
    GoalCostOptions wide;
    wide.reach_fade = 0.04;
    LatentGoalCost early(model, wide);
    early.SetGoalEmbedding(torch::tensor({5.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f}));
    const auto near = torch::tensor({8.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f});  // the object 3 cm from its goal
    const auto hand = torch::tensor({0.06f, 0.f, 0.125f});                      // 10 cm above the point behind it
    EXPECT_NEAR(early.Reach(near, hand).item<double>(), 2 * 0.6 * 10.0, 1e-3);
    EXPECT_NEAR(cost.Reach(near, hand).item<double>(), 2 * 3 / std::sqrt(10.0) * 10.0, 1e-3);
    wide.reach_fade = 0;
    EXPECT_THROW(LatentGoalCost(model, wide), std::invalid_argument);
  }
  {
    // Drawn above the object while away from that point: 3 cm from it on the table, the hand is
    // drawn 3/3 x 5 cm above the object's height; on the point, down to it.
    ModelMeta above = meta;
    above.energy.approach_height = 0.05;
    WorldModel lifted(above);
    LatentGoalCost over(lifted);
    over.SetGoalEmbedding(torch::tensor({5.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f}));
    auto lift = [&](float x, float y, float z) { return over.Reach(object, torch::tensor({x, y, z})).item<double>(); };
    EXPECT_NEAR(lift(0.13f, 0, 0.025f), 0.0, 1e-3);
    EXPECT_NEAR(lift(0.13f, 0.03f, 0.075f), 2 * fade * 3.0, 1e-3);
    EXPECT_NEAR(lift(0.13f, 0.03f, 0.025f), 2 * fade * std::sqrt(9.0 + 25.0), 1e-3);
    EXPECT_NEAR(lift(0.13f, 0.015f, 0.05f), 2 * fade * 1.5, 1e-3);  // half way down
    const std::string lifted_pt = Out("hand_lifted.pt");
    SaveCheckpoint(lifted_pt, lifted, nullptr, {});
    EXPECT_EQ(nlohmann::json(LoadCheckpoint(lifted_pt).model->meta()), nlohmann::json(above));
    GoalEnergy no_state = above.energy;
    no_state.hand_step.clear();
    EXPECT_THROW(lifted->set_energy(no_state), std::invalid_argument);  // the image's hand has no height
    GoalEnergy negative = above.energy;
    negative.approach_height = -0.01;
    EXPECT_THROW(lifted->set_energy(negative), std::invalid_argument);
  }
  // The object's distance from its goal, read on the table.
  ASSERT_TRUE(cost.reads_object());
  EXPECT_NEAR(cost.ObjectDistance(object).item<double>(), 0.1, 1e-5);
  EXPECT_NEAR(cost.ObjectDistance(torch::tensor({5.f, -4.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f})).item<double>(), 0.04, 1e-5);
  // The hand's path: each step moves it by the action times the step, held in the box.
  EXPECT_THROW(cost.HandPath(torch::zeros({1, 2, 3})), std::logic_error);  // not given yet
  EXPECT_THROW(cost.SetHand(torch::zeros({2})), std::invalid_argument);
  EXPECT_THROW(cost.SetHand(torch::tensor({0.f, NAN, 0.f})), std::invalid_argument);
  cost.SetHand(torch::tensor({0.99f, 0.f, 0.01f}));
  const auto path = cost.HandPath(torch::tensor({1.f, 0.f, -1.f, -1.f, 0.5f, 1.f}).view({1, 2, 3}));
  EXPECT_TRUE(torch::allclose(path[0][0], torch::tensor({1.f, 0.f, 0.f}), 0, 1e-6)) << path;
  EXPECT_TRUE(torch::allclose(path[0][1], torch::tensor({0.98f, 0.01f, 0.02f}), 0, 1e-6)) << path;
  // The planner's cost follows that path: the distance plus the reaching term at each step.
  cost.SetContext(torch::zeros({1, 8}), {}, torch::zeros({1, model->proprio_dim()}));
  const auto actions = torch::rand({2, 4, 3}) * 2 - 1;
  const auto rolled = model->Rollout(model->State(torch::zeros({1, 8}), torch::zeros({1, model->proprio_dim()})).expand({2, -1}),
                                     actions);
  const auto expected = (cost.Distance(rolled) + cost.Reach(rolled, cost.HandPath(actions))).sum(1);
  EXPECT_TRUE(torch::allclose(cost(actions), expected, 1e-4, 1e-4));
  // It travels with the checkpoint; inconsistent ones are refused.
  const std::string path_pt = Out("hand_state.pt");
  SaveCheckpoint(path_pt, model, nullptr, {});
  EXPECT_EQ(nlohmann::json(LoadCheckpoint(path_pt).model->meta()), nlohmann::json(meta));
  GoalEnergy bad = meta.energy;
  bad.hand_step = {0.02, 0.02};
  EXPECT_THROW(model->set_energy(bad), std::invalid_argument);
  bad = meta.energy;
  bad.hand_step[1] = 0;
  EXPECT_THROW(model->set_energy(bad), std::invalid_argument);
  bad = meta.energy;
  bad.hand_box = {1, -1, -1, 1, 0, 0.5};
  EXPECT_THROW(model->set_energy(bad), std::invalid_argument);
  bad = meta.energy;
  bad.table.clear();
  EXPECT_THROW(model->set_energy(bad), std::invalid_argument);
  bad = meta.energy;
  bad.table.pop_back();
  EXPECT_THROW(model->set_energy(bad), std::invalid_argument);
  // A model whose actions do not move the hand in three axes cannot read it from the robot.
  ModelMeta planar = meta;
  planar.action_dim = 2;
  EXPECT_THROW(LatentGoalCost{WorldModel(planar)}, std::invalid_argument);
  // The object energy needs the object's and the hand's positions for it (this dataset has none).
  ModelMeta m = TinyMeta();
  m.config.object_keypoints = 2;
  WorldModel keypoints(m);
  keypoints->eval();
  EXPECT_THROW(ObjectGoalEnergy(keypoints, *data_, 1.0, false, 0, ReachHand::kState), std::invalid_argument);
  EXPECT_EQ(ReachHandNamed("state"), ReachHand::kState);
  EXPECT_THROW(ReachHandNamed("joints"), std::invalid_argument);
  TrainConfig c = TinyConfig();
  c.reach_hand = "joints";
  EXPECT_THROW(c.Validate(), std::invalid_argument);
  c.reach_hand = "fit";
  c.approach_height = 0.05;  // the image's hand has no height to draw
  EXPECT_THROW(c.Validate(), std::invalid_argument);
  c.reach_hand = "state";
  EXPECT_NO_THROW(c.Validate());
  c.approach_height = -0.05;
  EXPECT_THROW(c.Validate(), std::invalid_argument);
}

TEST_F(WorldModelTest, APredictedObjectMovesOnlyWhereTheHandsPathCouldTouchIt) {
  ModelMeta meta = TinyMeta();
  meta.config.keypoints = 4;  // one view of 4 keypoints, the last the object's: x at 3, y at 7
  meta.config.object_keypoints = 1;
  meta.action_dim = 3;
  meta.energy.weights = {0, 0, 0, 1, 0, 0, 0, 1};
  meta.energy.reach = {0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1};
  meta.energy.object = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  meta.energy.units_per_metre = {100};         // a unit a centimetre
  meta.energy.table = {100, 0, 0, 100, 5, 0};  // keypoints = 100 x (table x, y) + (5, 0)
  meta.energy.reach_weight = 1;
  meta.energy.push_offset = 0.03;
  meta.energy.hand_step = {0.02, 0.02, 0.02};
  meta.energy.hand_box = {-1, 1, -1, 1, 0, 0.5};
  meta.energy.object_height = 0.025;
  WorldModel model(meta);
  auto state = [&](float object_x) {  // the object at (object_x, 0) m
    auto z = torch::zeros({model->state_dim()});
    z[3] = 100 * object_x + 5;
    return z;
  };
  GoalCostOptions o, off;
  off.contact_height = 0;
  LatentGoalCost held(model), free(model, off);  // held by default: at the object's height
  EXPECT_DOUBLE_EQ(held.options().contact_height, 0.025);
  for (LatentGoalCost* c : {&held, &free}) {
    c->SetGoalEmbedding(state(0).narrow(0, 0, 8));  // the goal's object at (0, 0)
    c->SetContext(state(0.1f).narrow(0, 0, 8).unsqueeze(0), {}, torch::zeros({1, model->proprio_dim()}));
  }
  // Predicted: the object slides 10 cm to its goal in two steps; or it stays where it is.
  const auto sliding = torch::stack({state(0.05f), state(0)}).unsqueeze(0);
  const auto still = torch::stack({state(0.1f), state(0.1f)}).unsqueeze(0);
  auto path = [](std::vector<float> p) { return torch::tensor(p).view({1, 2, 3}); };
  auto score = [](LatentGoalCost& c, const torch::Tensor& z, const torch::Tensor& hand) {
    return c.Score(z, hand).item<double>();
  };
  // The hand 12 cm above the point behind it: the slide is the predictor's error, nothing touches
  // the object, and the plan is scored as if it stayed.
  const auto over = path({0.13f, 0, 0.15f, 0.08f, 0, 0.15f});
  EXPECT_NEAR(score(held, sliding, over), score(held, still, over), 1e-4);
  EXPECT_NEAR(score(held, still, over), score(free, still, over), 1e-4);
  EXPECT_LT(score(free, sliding, over), score(free, still, over) - 5);  // without: the error pays
  // Seen sequences scored without a context (an energy map, the perfect predictor's frames) start
  // from their first step's place: held there while the hand is over it.
  LatentGoalCost fresh(model);
  fresh.SetGoalEmbedding(state(0).narrow(0, 0, 8));
  const auto first = torch::stack({state(0.05f), state(0.05f)}).unsqueeze(0);
  EXPECT_NEAR(score(fresh, sliding, over), score(free, first, over), 1e-4);
  // Low beside the object, far across the table: held too.
  const auto far = path({0.3f, 0, 0.025f, 0.3f, 0, 0.025f});
  EXPECT_NEAR(score(held, sliding, far), score(held, still, far), 1e-4);
  // At its height behind it, then following it: the hand pushes, the slide counts in full.
  const auto pushing = path({0.13f, 0, 0.025f, 0.08f, 0, 0.025f});
  EXPECT_NEAR(score(held, sliding, pushing), score(free, sliding, pushing), 1e-4);
  // 1 cm above the contact height, half way up its ramp: half the first step's slide is believed
  // (7.5 cm); then 5.5 cm across from there, half way along the other ramp too: a quarter of the
  // second step's (0.25 x 0 + 0.75 x 7.5 = 5.625 cm).
  const auto half = path({0.13f, 0, 0.06f, 0.13f, 0, 0.06f});
  const auto believed = torch::stack({state(0.075f), state(0.05625f)}).unsqueeze(0);
  EXPECT_NEAR(score(held, sliding, half), score(free, believed, half), 1e-3);
  // Refused: a negative height, and a model whose reaching term does not read the hand (which
  // the default leaves off).
  o.contact_height = -0.01;
  EXPECT_THROW(LatentGoalCost(model, o), std::invalid_argument);
  o.contact_height = 0.025;
  ModelMeta image_hand = meta;
  image_hand.energy.hand_step.clear();
  image_hand.energy.hand_box.clear();
  EXPECT_THROW(LatentGoalCost(WorldModel(image_hand), o), std::invalid_argument);
  EXPECT_DOUBLE_EQ(LatentGoalCost(WorldModel(image_hand)).options().contact_height, 0);
  GoalCostOptions withdrawn;  // another answer to the same error: the default then stays off
  withdrawn.withdraw_steps = 2;
  withdrawn.withdraw_action = {0, 0, 1};
  EXPECT_DOUBLE_EQ(LatentGoalCost(model, withdrawn).options().contact_height, 0);
  withdrawn.contact_height = 0.025;
  EXPECT_THROW(LatentGoalCost(model, withdrawn), std::invalid_argument);
}

TEST_F(WorldModelTest, ATableEnergyWeighsACentimetreOnTheTableAlikeInEveryDirection) {
  ModelMeta meta = TinyMeta();  // D = 8; one view: the object at (z0, z1)
  meta.energy.weights = {1, 1, 0, 0, 0, 0, 0, 0};
  meta.energy.reach = {-1, 0, 1, 0, 0, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0};
  meta.energy.reach_weight = 0;  // the object's distance alone
  meta.energy.object = {1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  // A slanted view: a metre along the table's y moves the keypoint half as far as one along x.
  meta.energy.table = {100, 0, 0, 50, 5, 0};
  meta.energy.units_per_metre = {std::sqrt(5000.0)};
  WorldModel model(meta);
  GoalCostOptions o;
  o.table_energy = true;
  LatentGoalCost image(model), table(model, o);
  const auto goal = torch::tensor({5.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f});  // the object at (0, 0) m
  image.SetGoalEmbedding(goal);
  table.SetGoalEmbedding(goal);
  const auto along_x = torch::tensor({7.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f});  // 2 cm along x
  const auto along_y = torch::tensor({5.f, 1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f});  // 2 cm along y
  // In the image the two are 2 and 1 apart; on the table both are 2 cm, in the view's units.
  EXPECT_NEAR(image.Distance(along_x).item<double>(), 2, 1e-5);
  EXPECT_NEAR(image.Distance(along_y).item<double>(), 1, 1e-5);
  EXPECT_NEAR(table.Distance(along_x).item<double>(), 0.02 * std::sqrt(5000.0), 1e-4);
  EXPECT_NEAR(table.Distance(along_y).item<double>(), 0.02 * std::sqrt(5000.0), 1e-4);
  // The planner's cost is that distance over the plan (no reaching term here).
  const auto qpos = torch::zeros({1, model->proprio_dim()});
  table.SetContext(torch::zeros({1, 8}), {}, qpos);
  const auto actions = torch::rand({3, 4, meta.action_dim}) * 2 - 1;
  const auto rolled = model->Rollout(model->State(torch::zeros({1, 8}), qpos).expand({3, -1}), actions);
  EXPECT_TRUE(torch::allclose(table(actions), (table.ObjectDistance(rolled) * std::sqrt(5000.0)).sum(1), 1e-4, 1e-4));
  // Refused: a model without the table map, and an arm weight beside it.
  ModelMeta no_table = meta;
  no_table.energy.table.clear();
  EXPECT_THROW(LatentGoalCost(WorldModel(no_table), o), std::invalid_argument);
  ModelMeta grouped = meta;
  grouped.config.object_keypoints = 1;
  o.arm_weight = 0.5;
  EXPECT_THROW(LatentGoalCost(WorldModel(grouped), o), std::invalid_argument);
}

TEST_F(WorldModelTest, FitHandMovesRecoversTheStepAndTheBox) {
  // An end effector moved by 2, 3 and 1 cm per action unit on x, y and z.
  torch::Generator gen = at::detail::createCPUGenerator(7);
  auto actions = torch::rand({3, 40, 4}, gen) * 2 - 1;
  auto moves = actions.narrow(2, 0, 3) * torch::tensor({0.02f, 0.03f, 0.01f});
  auto ee = torch::cat({torch::zeros({3, 1, 3}), moves.narrow(1, 0, 39).cumsum(1)}, 1) + torch::tensor({0.5f, 0.f, 0.2f});
  const auto [step, box] = FitHandMoves(ee, actions);
  ASSERT_EQ(step.size(), 3u);
  EXPECT_NEAR(step[0], 0.02, 1e-6);
  EXPECT_NEAR(step[1], 0.03, 1e-6);
  EXPECT_NEAR(step[2], 0.01, 1e-6);
  ASSERT_EQ(box.size(), 6u);
  EXPECT_NEAR(box[0], ee.select(2, 0).min().item<double>(), 1e-6);
  EXPECT_NEAR(box[5], ee.select(2, 2).max().item<double>(), 1e-6);
  // A hand the actions do not move, or the wrong shapes, are refused.
  EXPECT_THROW(FitHandMoves(torch::zeros({3, 40, 3}), actions), std::invalid_argument);
  EXPECT_THROW(FitHandMoves(ee, actions.narrow(2, 0, 2)), std::invalid_argument);
  EXPECT_THROW(FitHandMoves(ee.narrow(1, 0, 10), actions), std::invalid_argument);
}

TEST_F(WorldModelTest, ConvexMixtureFindsTheHandsKeypointsAndStaysConvex) {
  // Two axes of 4 keypoints; the hand reads 0.5, 0.3 and 0.2 of the first three plus a constant
  // per axis: recovered, constants and all.
  torch::Generator gen = at::detail::createCPUGenerator(3);
  auto px = torch::randn({2000, 4}, gen).to(torch::kDouble), py = torch::randn({2000, 4}, gen).to(torch::kDouble);
  auto truth = torch::tensor({0.5, 0.3, 0.2, 0.0}, torch::kDouble);
  auto [w, constants] = ConvexMixture({px, py}, {px.matmul(truth) + 0.7, py.matmul(truth) - 0.2});
  EXPECT_TRUE(torch::allclose(w, truth, 0, 1e-3)) << w;
  ASSERT_EQ(constants.size(), 2u);
  EXPECT_NEAR(constants[0], 0.7, 1e-3);
  EXPECT_NEAR(constants[1], -0.2, 1e-3);
  // A target no mixture reaches (twice the first keypoint): the weights stay a mixture.
  std::tie(w, constants) = ConvexMixture({px}, {2 * px.select(1, 0)});
  EXPECT_GE(w.min().item<double>(), 0.0);
  EXPECT_NEAR(w.sum().item<double>(), 1.0, 1e-9);
  EXPECT_NEAR(w[0].item<double>(), 1.0, 1e-6);  // the nearest mixture: all of the first
  EXPECT_THROW(ConvexMixture({px, py}, {px.select(1, 0)}), std::invalid_argument);
}

TEST_F(WorldModelTest, ResumeIsExact) {
  TrainConfig c = TinyConfig();
  c.steps = 20;
  auto straight = Train(c, *data_, Out("straight"), false);
  TrainConfig half = c;
  half.steps = 10;
  Train(half, *data_, Out("resumed"), false);
  auto resumed = Train(c, *data_, Out("resumed"), true);
  EXPECT_EQ(resumed.steps_done, 20);
  auto a = straight.model->named_parameters(), b = resumed.model->named_parameters();
  for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
  // Resuming a finished run does nothing more.
  EXPECT_EQ(Train(c, *data_, Out("resumed"), true).steps_done, 20);
}

TEST_F(WorldModelTest, ResumingARunLoggedWithoutAColumnMovesItsRowsUnderTodaysHeader) {
  TrainConfig c = TinyConfig();
  c.steps = 20;
  c.log_every = 5;
  TrainConfig half = c;
  half.steps = 10;
  Train(half, *data_, Out("old_log"), false);
  auto read_lines = [](const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::vector<std::string>> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(util::SplitCsvLine(line));
    return lines;
  };
  // The log as a run from before the `equivariance` column wrote it, with a row from past the
  // checkpoint (a kill between two checkpoints) and a half-written last line.
  const fs::path csv = fs::path(Out("old_log")) / "metrics.csv";
  const auto logged = read_lines(csv);
  ASSERT_EQ(logged.size(), 3u);  // the header, steps 5 and 10
  const size_t eq = std::find(logged[0].begin(), logged[0].end(), "equivariance") - logged[0].begin();
  ASSERT_LT(eq, logged[0].size());
  {
    std::ofstream out(csv, std::ios::trunc);
    for (auto line : logged) {
      line.erase(line.begin() + static_cast<std::ptrdiff_t>(eq));
      for (size_t i = 0; i < line.size(); ++i) out << (i ? "," : "") << line[i];
      out << '\n';
    }
    out << "15,0.5,0.5\n16,0.";
  }
  Train(c, *data_, Out("old_log"), true);
  const auto resumed = read_lines(csv);
  ASSERT_EQ(resumed.size(), 5u);  // the header, steps 5, 10, 15, 20
  EXPECT_EQ(resumed[0], logged[0]);
  const size_t elapsed = std::find(logged[0].begin(), logged[0].end(), "elapsed_s") - logged[0].begin();
  for (size_t r = 1; r < resumed.size(); ++r) {
    ASSERT_EQ(resumed[r].size(), logged[0].size()) << "row " << r;
    EXPECT_EQ(std::stoll(resumed[r][0]), 5 * static_cast<int64_t>(r));
  }
  // The old rows keep their cells under their columns, the column they lacked left empty.
  for (size_t r = 1; r <= 2; ++r) {
    EXPECT_EQ(resumed[r][elapsed], logged[r][elapsed]);
    EXPECT_EQ(resumed[r][1], logged[r][1]);
    EXPECT_EQ(resumed[r][eq], "");
  }
  EXPECT_NE(resumed[3][eq], "");  // rows logged now carry it
}

TEST_F(WorldModelTest, ResumeRefusesAnotherConfigExceptTheSteps) {
  TrainConfig c = TinyConfig();
  c.steps = 4;
  Train(c, *data_, Out("refuse"), false);
  auto expect_refused = [&](const TrainConfig& other, const std::string& words) {
    try {
      Train(other, *data_, Out("refuse"), true);
      FAIL() << "resumed with " << words;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("only steps may change"), std::string::npos) << e.what();
    }
  };
  TrainConfig other = c;
  other.steps = 8;
  other.lambda = c.lambda * 2;
  expect_refused(other, "lambda");
  other = c;
  other.model.hidden += 1;
  expect_refused(other, "model/hidden");
  TrainConfig more = c;
  more.steps = 6;
  EXPECT_EQ(Train(more, *data_, Out("refuse"), true).steps_done, 6);
}

TEST_F(WorldModelTest, QualityMeasuresMatchHandComputedValues) {
  // Spearman: ranks (1..5) against (2, 1, 4, 3, 5): sum d^2 = 4, rho = 1 - 6 * 4 / (5 * 24) = 0.8.
  EXPECT_NEAR(SpearmanCorrelation(torch::tensor({1.0, 2.0, 3.0, 4.0, 5.0}),
                                  torch::tensor({20.0, 10.0, 40.0, 30.0, 50.0})), 0.8, 1e-12);
  // Effective rank: two orthogonal directions of equal spread, a third that never varies: 2.
  auto z = torch::tensor({{1.0, 0.0, 7.0}, {-1.0, 0.0, 7.0}, {0.0, 1.0, 7.0}, {0.0, -1.0, 7.0}});
  EXPECT_NEAR(EffectiveRank(z), 2.0, 1e-9);
  // Four equal directions: 4; one direction: 1.
  EXPECT_NEAR(EffectiveRank(torch::eye(4) - 0.25), 3.0, 1e-6);  // centred: rank 3, equal spread
  EXPECT_NEAR(EffectiveRank(torch::tensor({{1.0, 2.0}, {2.0, 4.0}, {3.0, 6.0}})), 1.0, 1e-6);
  // A ridge probe of an exactly linear held-out target: R^2 = 1.
  auto x = torch::tensor({{0.0}, {1.0}, {2.0}, {3.0}, {4.0}, {5.0}});
  EXPECT_NEAR(RidgeProbeR2(x.narrow(0, 0, 4), 2 * x.narrow(0, 0, 4) + 1, x.narrow(0, 4, 2), 2 * x.narrow(0, 4, 2) + 1),
              1.0, 1e-3);
}

TEST_F(WorldModelTest, QualityScoresPredictionWhileTheObjectMoves) {
  WorldModel model(TinyMeta());
  TrainingData d = *data_;
  EXPECT_TRUE(std::isnan(EvaluateQuality(model, d).prediction_ratio_object_moved));  // no objects
  // An object still everywhere but in held-out episode 0, where it slides 2 cm per step from step 10.
  const int64_t E = d.val.episodes(), T = d.val.length();
  d.train.object_pos = torch::zeros({d.train.episodes(), T, 3});
  d.val.object_pos = torch::zeros({E, T, 3});
  for (int64_t t = 10; t < T; ++t) d.val.object_pos[0][t][0] = 0.02 * (t - 10);
  QualityReport r = EvaluateQuality(model, d);
  // Windows start at every other step; those of episode 0 from step 6 on see it move > 1 cm.
  int64_t expected = 0;
  for (int64_t s = 0; s + 5 < T; s += 2) expected += s >= 6;
  EXPECT_EQ(r.object_moved_windows, expected);
  ASSERT_TRUE(std::isfinite(r.prediction_ratio_object_moved));
  EXPECT_GT(r.prediction_ratio_object_moved, 0.0);
  EXPECT_TRUE(r.ToJson().contains("prediction_ratio_object_moved_h5"));
}

// An encoder a user adds: a 1x1 conv and global average pooling (D = channels).
class PooledEncoder : public EncoderBase {
 public:
  PooledEncoder(const ModelConfig& c, int64_t) {
    conv_ = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, c.latent_dim, 1)));
  }
  torch::Tensor forward(const torch::Tensor& images) override {
    return torch::tanh(conv_(images)).mean({2, 3});
  }

 private:
  torch::nn::Conv2d conv_{nullptr};
};

TEST_F(WorldModelTest, AUsersEncoderTrainsAndRoundTripsThroughACheckpoint) {
  if (!EncoderRegistry().Has("pooled")) {
    EncoderRegistry().Add("pooled", {"1x1 conv + mean", [](const ModelConfig& c, int64_t s) -> std::shared_ptr<EncoderBase> {
                                       return std::make_shared<PooledEncoder>(c, s);
                                     }});
  }
  TrainConfig c = TinyConfig();
  c.steps = 3;
  c.model.encoder = "pooled";
  auto result = Train(c, *data_, Out("pooled"), false);
  EXPECT_EQ(result.steps_done, 3);
  auto loaded = LoadCheckpoint(Out("pooled") + "/checkpoint.pt").model;
  EXPECT_EQ(loaded->meta().config.encoder, "pooled");
  auto images = torch::rand({2, 3, 32, 32});
  EXPECT_TRUE(torch::equal(loaded->Encode(images), result.model->Encode(images)));
  // The encoder's parameters are the model's: they trained.
  EXPECT_EQ(loaded->named_parameters().contains("encoder.conv.weight"), true);
  // An unknown encoder is one error naming the known ones.
  c.model.encoder = "vit";
  try {
    c.Validate();
    FAIL() << "an unknown encoder was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown encoder 'vit', expected one of: keypoints"), std::string::npos)
        << e.what();
  }
}

TEST_F(WorldModelTest, ShortTrainingDoesNotCollapse) {
  TrainConfig c = TinyConfig();
  c.steps = 400;
  c.checkpoint_every = 1000;
  auto r = Train(c, *data_, Out("nocollapse"), false);
  auto z = EncodeAll(r.model, data_->val).reshape({-1, 8});
  EXPECT_GT(EffectiveRank(z), 2.0);
  // Keypoint coordinates: all keypoints but one must travel; one (its x and y) may rest on a
  // static part of the scene.
  auto std = std::get<0>(z.std(0).sort());
  EXPECT_GT(std[2].item<double>(), 0.1) << std;
}

TEST_F(WorldModelTest, ReconstructionObjectiveLearnsToDrawTheFramesWithoutARegulariser) {
  TrainConfig c = TinyConfig();
  c.model.objective = "reconstruction";
  c.steps = 150;
  c.checkpoint_every = 1000;
  std::vector<StepMetrics> log;
  auto r = Train(c, *data_, Out("recon"), false, [&](const StepMetrics& m) { log.push_back(m); });
  ASSERT_EQ(log.size(), 150u);
  for (const auto& m : log) EXPECT_EQ(m.regularizer, 0.0);
  auto mean = [&](size_t from, size_t n) {
    double s = 0;
    for (size_t i = from; i < from + n; ++i) s += log[i].reconstruction;
    return s / n;
  };
  // From the sigmoid's 0.5 grey toward the scene: the pixel error falls by more than half.
  EXPECT_LT(mean(130, 20), 0.5 * mean(0, 5)) << "first " << mean(0, 5) << " last " << mean(130, 20);
  ASSERT_TRUE(r.model->has_decoder());
  auto frames = ToFloatImages(data_->val.images.select(0, 0).narrow(0, 0, 3));
  torch::Tensor drawn;
  {
    torch::NoGradGuard g;
    r.model->eval();
    drawn = r.model->Decode(r.model->Encode(frames));
  }
  ASSERT_EQ(drawn.sizes(), frames.sizes());
  EXPECT_GE(drawn.min().item<double>(), 0.0);
  EXPECT_LE(drawn.max().item<double>(), 1.0);
  // The objective and the decoder travel with the checkpoint.
  Checkpoint ck = LoadCheckpoint(Out("recon") + "/checkpoint.pt");
  EXPECT_EQ(ck.model->meta().config.objective, "reconstruction");
  torch::NoGradGuard g;
  EXPECT_TRUE(torch::allclose(ck.model->Decode(ck.model->Encode(frames)), drawn));
  WorldModel jepa(TinyMeta());
  EXPECT_FALSE(jepa->has_decoder());
  EXPECT_THROW(jepa->Decode(torch::zeros({1, 8})), std::logic_error);
}

TEST_F(WorldModelTest, ThePredictorPhaseTrainsThePredictorAloneOnFrozenEmbeddings) {
  TrainConfig c = TinyConfig();
  c.model.proprio = true;
  c.steps = 30;
  c.checkpoint_every = 1000;
  auto joint = Train(c, *data_, Out("phase"), false);
  const auto before = joint.model->named_parameters(true);
  std::map<std::string, torch::Tensor> saved;
  for (const auto& p : before) saved[p.key()] = p.value().clone();
  // The prediction error on the training episodes (the phase's data; six episodes of 24 steps are
  // too few for the held-out ones to follow).
  TrainingData on_train = *data_;
  on_train.val = data_->train;
  const QualityReport q0 = EvaluateQuality(joint.model, on_train);
  // A finished run resumed with the phase (the option may change on resume).
  c.predictor_steps = 150;
  c.predictor_length = 6;
  auto tuned = Train(c, *data_, Out("phase"), true);
  EXPECT_EQ(tuned.steps_done, 30);
  EXPECT_GT(tuned.predictor_seconds, 0);
  int encoder = 0, predictor = 0;
  for (const auto& p : tuned.model->named_parameters(true)) {
    const bool same = torch::equal(p.value(), saved[p.key()]);
    if (p.key().rfind("predictor.", 0) == 0) predictor += !same;
    else EXPECT_TRUE(same) << p.key() << " changed";  // the encoder and heads are frozen
    encoder += p.key().rfind("encoder.", 0) == 0;
  }
  EXPECT_GT(encoder, 0);
  EXPECT_GT(predictor, 0) << "the predictor did not train";
  // The prediction error falls at every horizon (the encoder, and so the targets, unchanged).
  const QualityReport q1 = EvaluateQuality(tuned.model, on_train);
  ASSERT_EQ(q0.prediction_ratio.size(), q1.prediction_ratio.size());
  for (size_t i = 0; i < q0.prediction_ratio.size(); ++i) {
    EXPECT_LT(q1.prediction_ratio[i], 0.8 * q0.prediction_ratio[i]) << "horizon " << q0.horizons[i];
  }
  // The checkpoint holds the tuned predictor.
  auto loaded = LoadCheckpoint(Out("phase") + "/checkpoint.pt").model->named_parameters(true);
  for (const auto& p : tuned.model->named_parameters(true)) EXPECT_TRUE(torch::equal(p.value(), loaded[p.key()])) << p.key();
  // Resumed again with the phase's options unchanged (another goal energy, say), the predictor
  // stays as it is; another predictor seed (an ensemble member) runs the phase again.
  auto again = Train(c, *data_, Out("phase"), true);
  EXPECT_EQ(again.predictor_seconds, 0);
  for (const auto& p : again.model->named_parameters(true)) EXPECT_TRUE(torch::equal(p.value(), loaded[p.key()])) << p.key();
  TrainConfig member = c;
  member.predictor_seed = 3;
  EXPECT_GT(Train(member, *data_, Out("phase"), true).predictor_seconds, 0);
  c.predictor_steps = -1;
  EXPECT_THROW(c.Validate(), std::invalid_argument);
  c.predictor_steps = 10;
  c.predictor_length = 1;  // no step to predict with a history of 1
  EXPECT_THROW(c.Validate(), std::invalid_argument);
  c.predictor_length = 6;
  c.predictor_goal_weight = -1;
  EXPECT_THROW(c.Validate(), std::invalid_argument);
}

TEST_F(WorldModelTest, FrozenRandomObjectiveTrainsOnlyWhatFollowsTheEncoder) {
  TrainConfig c = TinyConfig();
  c.model.objective = "frozen-random";
  // With an object group too: its loss reaches only the encoder, which must stay as it was.
  c.model.object_keypoints = 1;
  c.object_weight = 1;
  c.steps = 20;
  c.checkpoint_every = 1000;
  auto r = Train(c, *data_, Out("frozen"), false);
  torch::manual_seed(c.seed);  // Train builds its model right after seeding
  WorldModel init(MakeMeta(c, *data_));
  auto now = r.model->named_parameters(true);
  int encoder = 0, moved = 0;
  for (const auto& p : init->named_parameters(true)) {
    const bool same = torch::equal(p.value(), now[p.key()]);
    if (p.key().rfind("encoder.", 0) == 0) {
      ++encoder;
      EXPECT_TRUE(same) << p.key() << " changed";
    } else if (!same) {
      ++moved;
    }
  }
  EXPECT_GT(encoder, 0);
  EXPECT_GT(moved, 0) << "the predictor did not train";
}

TEST_F(WorldModelTest, ObjectiveOptionsAreChecked) {
  ModelMeta m = TinyMeta();
  m.config.objective = "pixels";
  try {
    WorldModel bad(m);
    FAIL() << "an unknown objective was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("objective is 'pixels', expected jepa, reconstruction or frozen-random"));
  }
  m = TinyMeta();
  m.config.objective = "reconstruction";
  m.image_size = 24;
  try {
    WorldModel bad(m);
    FAIL() << "a decoder for 24x24 images was built";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("multiple of 16, not 24"));
  }
}

TEST_F(WorldModelTest, SurpriseIsThePredictionErrorOfEachFrame) {
  WorldModel model(TinyMeta(/*history=*/2));
  model->eval();
  const auto& ep = data_->val;
  auto images = ToFloatImages(ep.images.select(0, 0).narrow(0, 0, 6));
  auto actions = ep.actions.select(0, 0).narrow(0, 0, 6).to(torch::kFloat32);
  auto errors = PredictionErrors(model, images, {}, actions);
  ASSERT_EQ(errors.sizes(), (std::vector<int64_t>{6, 8}));
  EXPECT_EQ(errors.narrow(0, 0, 2).abs().sum().item<double>(), 0.0);  // nothing to predict from
  // Frame 4 from frames 2 and 3 and the actions after them, by hand.
  torch::NoGradGuard g;
  auto z = model->Encode(images);
  auto pred = model->Rollout(z.narrow(0, 2, 2).unsqueeze(0), actions.narrow(0, 3, 1).unsqueeze(0),
                             actions.narrow(0, 2, 1).unsqueeze(0));
  auto by_hand = (pred.select(1, 0).squeeze(0) - z[4]).pow(2);
  EXPECT_TRUE(torch::allclose(errors[4], by_hand, 1e-5, 1e-7));
  auto surprise = Surprise(errors);
  EXPECT_NEAR(surprise[4].item<double>(), by_hand.mean().item<double>(), 1e-6);
  // Scaled: each feature's error over its typical size.
  auto scale = ErrorScale({errors}, 2);
  EXPECT_TRUE(torch::allclose(scale, errors.narrow(0, 2, 4).to(torch::kFloat64).mean(0) * 1.0 +
                                         1e-3 * errors.narrow(0, 2, 4).to(torch::kFloat64).mean()));
  EXPECT_NEAR(Surprise(errors, scale)[4].item<double>(),
              (by_hand.to(torch::kFloat64) / scale).mean().item<double>(), 1e-6);
  // A frame that is not what happened next is more surprising than the one that is.
  auto swapped = images.clone();
  swapped[4] = images[0];
  EXPECT_NE(Surprise(PredictionErrors(model, swapped, {}, actions))[4].item<double>(), surprise[4].item<double>());
  // A reconstruction model is surprised per pixel of its decoded prediction.
  ModelMeta rm = TinyMeta();
  rm.config.objective = "reconstruction";
  WorldModel recon(rm);
  EXPECT_EQ(PredictionErrors(recon, images, {}, actions).sizes(), (std::vector<int64_t>{6, 3 * 32 * 32}));
}

TEST_F(WorldModelTest, PairwiseAccuracyAndAurocCountWinsAndTies) {
  EXPECT_DOUBLE_EQ(PairwiseAccuracy({3, 1, 2}, {1, 2, 2}), 0.5);  // a win, a loss, a tie
  EXPECT_DOUBLE_EQ(Auroc({3, 4}, {1, 2}), 1.0);
  EXPECT_DOUBLE_EQ(Auroc({1, 2}, {3, 4}), 0.0);
  EXPECT_DOUBLE_EQ(Auroc({2, 0}, {1}), 0.5);
  EXPECT_DOUBLE_EQ(Auroc({1, 1}, {1}), 0.5);
  EXPECT_DOUBLE_EQ(Auroc({5, 2, 3}, {1, 4}), 4.0 / 6.0);
  EXPECT_THROW(PairwiseAccuracy({1}, {1, 2}), std::invalid_argument);
  EXPECT_THROW(Auroc({}, {1}), std::invalid_argument);
}

TEST_F(WorldModelTest, BadCheckpointsGiveClearErrors) {
  auto expect_error = [](const std::string& path, const std::string& words) {
    try {
      LoadCheckpoint(path);
      ADD_FAILURE() << "expected an error for " << path;
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(words));
    }
  };
  expect_error(Out("missing.pt"), "does not exist");
  std::ofstream(Out("junk.pt")) << "definitely not a checkpoint";
  expect_error(Out("junk.pt"), "not a readable checkpoint");
  WorldModel model(TinyMeta());
  SaveCheckpoint(Out("good.pt"), model, nullptr, {});
  fs::copy_file(Out("good.pt"), Out("cut.pt"));
  fs::resize_file(Out("cut.pt"), fs::file_size(Out("good.pt")) / 2);
  expect_error(Out("cut.pt"), "not a readable checkpoint");
  // One changed byte anywhere (here in the weights) is caught before LibTorch reads the archive.
  fs::copy_file(Out("good.pt"), Out("flipped.pt"));
  {
    std::fstream f(Out("flipped.pt"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(Out("good.pt")) * 2 / 3));
    f.put('\x5a');
  }
  expect_error(Out("flipped.pt"), "not a readable checkpoint (truncated, corrupted or another format)");
  torch::serialize::OutputArchive foreign;
  foreign.write("weights", torch::ones({3}));
  foreign.save_to(Out("foreign.pt"));
  expect_error(Out("foreign.pt"), "not a jepa-mpc checkpoint");
  {
    // Metadata that leaves out a model option (as an older writer would).
    nlohmann::json meta = TinyMeta();
    meta["model"].erase("projector");
    torch::serialize::OutputArchive old;
    old.write("format", c10::IValue(std::string("jepa-mpc-checkpoint")));
    old.write("version", c10::IValue(int64_t{kCheckpointFormatVersion}));
    old.write("meta", c10::IValue(meta.dump()));
    old.save_to(Out("old.pt"));
    expect_error(Out("old.pt"), "model option 'projector' is missing");
  }
  // A checkpoint for another robot, image size or action dimension.
  const ModelMeta meta = LoadCheckpoint(Out("good.pt")).model->meta();  // a copy: the model is a temporary
  EXPECT_NO_THROW(meta.CheckCompatible("reacher2d", 32, 2));
  EXPECT_THROW(meta.CheckCompatible("panda7", 32, 2), std::invalid_argument);
  EXPECT_THROW(meta.CheckCompatible("reacher2d", 64, 2), std::invalid_argument);
  EXPECT_THROW(meta.CheckCompatible("reacher2d", 32, 4), std::invalid_argument);
  EXPECT_THROW(LoadOptimizerState(Out("good.pt"), *std::make_unique<torch::optim::AdamW>(
                                                      model->parameters())),
               std::runtime_error);
}

TEST_F(WorldModelTest, NonFiniteLossStopsWithStepAndKeepsLastCheckpoint) {
  TrainConfig c = TinyConfig();
  c.steps = 10;
  Train(c, *data_, Out("nan"), false);
  TrainingData poisoned = *data_;
  poisoned.train.actions = data_->train.actions.clone().fill_(NAN);
  c.steps = 20;
  try {
    Train(c, poisoned, Out("nan"), true);
    FAIL() << "expected NonFiniteLoss";
  } catch (const NonFiniteLoss& e) {
    EXPECT_THAT(e.what(), HasSubstr("step 11"));
  }
  EXPECT_EQ(LoadCheckpoint(Out("nan") + "/checkpoint.pt").state.step, 10);
}

TEST_F(WorldModelTest, KeypointEmbeddingFollowsTheFingertip) {
  // Without a projector the embedding is keypoint coordinates: after a short training run they
  // move across the image (not a near-uniform attention whose mean barely shifts).
  TrainConfig c = TinyConfig();
  c.steps = 150;
  c.checkpoint_every = 1000;
  auto r = Train(c, *data_, Out("keypoints"), false);
  auto z = EncodeAll(r.model, data_->val).reshape({-1, 8});
  EXPECT_GT(z.std(0).max().item<double>(), 0.3);  // 3 x coordinate std: > 0.1 of the half-width
  EXPECT_THROW(WorldModel(MakeMeta([] {
                 TrainConfig bad = TinyConfig();
                 bad.model.latent_dim = 5;  // not 2 * keypoints
                 return bad;
               }(), *data_)),
               std::invalid_argument);
}

TEST_F(WorldModelTest, ConfigJsonRoundTripsAndRejectsUnknownKeys) {
  TrainConfig c = TinyConfig();
  c.regularizer = "vicreg";
  TrainConfig d;
  from_json(nlohmann::json(c), d);
  EXPECT_EQ(nlohmann::json(c), nlohmann::json(d));
  EXPECT_THROW(from_json(nlohmann::json{{"stepz", 3}}, d), std::invalid_argument);
  EXPECT_THROW(from_json(nlohmann::json{{"model", {{"latent", 3}}}}, d), std::invalid_argument);
  EXPECT_THROW(from_json(nlohmann::json{{"model", {{"latent_dim", 5}}}}, d), std::invalid_argument);
  TrainConfig bad = c;
  bad.regularizer = "l2";
  EXPECT_THROW(bad.Validate(), std::invalid_argument);
  bad = c;
  bad.sequence_length = 1;
  EXPECT_THROW(bad.Validate(), std::invalid_argument);
}

TEST_F(WorldModelTest, QualityPiecesBehave) {
  auto gen = at::detail::createCPUGenerator(4);
  auto x = torch::randn({200, 5}, gen);
  auto w = torch::randn({5, 3}, gen);
  EXPECT_GT(RidgeProbeR2(x.narrow(0, 0, 150), torch::matmul(x.narrow(0, 0, 150), w),
                         x.narrow(0, 150, 50), torch::matmul(x.narrow(0, 150, 50), w)),
            0.999);
  // The fit itself (what the report reads plans with): [x, 1] @ fit recovers an affine map.
  const auto b = torch::tensor({0.5, -1.0, 2.0}).to(torch::kFloat32);
  const auto fit = RidgeFit(x, torch::matmul(x, w) + b);
  ASSERT_EQ(fit.sizes(), (std::vector<int64_t>{6, 3}));
  EXPECT_TRUE(torch::allclose(fit.narrow(0, 0, 5).to(torch::kFloat32), w, 1e-2, 1e-2));
  EXPECT_TRUE(torch::allclose(fit[5].to(torch::kFloat32), b, 1e-2, 1e-2));
  auto v = torch::randn({100}, gen);
  EXPECT_NEAR(SpearmanCorrelation(v, v.exp()), 1.0, 1e-9);  // monotone
  EXPECT_NEAR(SpearmanCorrelation(v, -v), -1.0, 1e-9);
  EXPECT_LT(std::abs(SpearmanCorrelation(v, torch::randn({100}, gen))), 0.3);
}

TEST_F(WorldModelTest, ExtraDatasetsJoinTheTrainingEpisodesOnly) {
  // Another collection of the same kind (another seed): its episodes follow the training ones and
  // the held-out part is the first dataset's alone.
  const std::string more = CollectReach2d(Out("more.h5"), 3, 9);
  const TrainingData both = LoadTrainingData(*dir_ / "data.h5", 0.25, 4, {more});
  ASSERT_EQ(both.train.episodes(), data_->train.episodes() + 3);
  EXPECT_TRUE(torch::equal(both.val.images, data_->val.images));
  EXPECT_TRUE(torch::equal(both.train.images.narrow(0, 0, data_->train.episodes()), data_->train.images));
  // The model's statistics are taken without them.
  EXPECT_EQ(both.extra_episodes, 3);
  EXPECT_TRUE(torch::equal(both.Primary().train.qpos, data_->train.qpos));
  const sim::EpisodeData first = sim::DatasetReader(more).Read(0);
  EXPECT_TRUE(torch::equal(both.train.actions[data_->train.episodes()],
                           torch::from_blob(const_cast<float*>(first.actions.data()), {24, 2}, torch::kFloat32)));
  // Data of another kind (another image size) is refused, naming the file.
  const std::string small = CollectReach2d(Out("small.h5"), 1, 9, 16);
  try {
    LoadTrainingData(*dir_ / "data.h5", 0.25, 4, {small});
    ADD_FAILURE() << "an extra dataset of another image size was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("small.h5"));
  }
}

TEST_F(WorldModelTest, EmptyOrTooShortDatasetsAreRejected) {
  sim::DatasetInfo info = data_->info;
  info.episode_steps = 3;
  const std::string path = Out("one.h5");
  auto w = sim::DatasetWriter::Create(path, info, true);
  EXPECT_THROW(LoadTrainingData(path, 0.25, 4), std::runtime_error);  // no episodes
}

}  // namespace
}  // namespace jepa_mpc::world_model

namespace jepa_mpc::world_model {
namespace {

// A robot read from a description file takes the described-arm recipe (panda7's arm recipe);
// a registered robot its own; an unknown name the base defaults.
TEST(TrainDefaultsTest, DescribedArmsTakeTheArmRecipe) {
  const TrainConfig panda = DefaultTrainConfig("panda7");
  for (const std::string robot : {"/home/me/arm.json", "arms/arm.xml"}) {
    const TrainConfig c = DefaultTrainConfig(robot, "reach");
    EXPECT_TRUE(c.model.inverse_dynamics) << robot;
    EXPECT_EQ(c.model.inverse_dynamics_head, "linear");
    EXPECT_EQ(c.inverse_dynamics_weight, panda.inverse_dynamics_weight);
    EXPECT_EQ(c.model.latent_dim, 32);
    EXPECT_EQ(c.steps, 4000);
  }
  EXPECT_FALSE(DefaultTrainConfig("reacher2d").model.inverse_dynamics);
  EXPECT_FALSE(DefaultTrainConfig("unknown_arm").model.inverse_dynamics);
}

}  // namespace
}  // namespace jepa_mpc::world_model
