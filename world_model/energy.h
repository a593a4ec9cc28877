#pragma once

// The goal energy for tasks with objects. An object task's goal image shows the object where it
// must go and the arm in its start pose; an energy over the whole embedding would also pay the arm
// to go back there, which fights the push, and says nothing while the arm is away from the object. From the
// data alone (images and the robot's own joint state, never the object's position) these
// functions find which parts of the embedding the robot's state explains (the arm) and which it
// does not (the object), weigh the goal energy toward the second, and add a reaching term: the
// distance in the embedding between where the arm's keypoints are and where the object's are.

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "world_model/data.h"
#include "world_model/world_model.h"

namespace jepa_mpc::world_model {

// R^2 of each column of z predicted from the joint-state features of q by the mean of its
// `neighbours` nearest training frames (standardised sin/cos features), on the test frames.
// z_*: [N, D], q_*: [N, Q] -> [D].
torch::Tensor JointStateR2(const torch::Tensor& z_train, const torch::Tensor& q_train,
                           const torch::Tensor& z_test, const torch::Tensor& q_test,
                           int64_t neighbours = 10);

// min over w >= 0 with sum 1 and a constant b_i per pair of the mean over every pair i of
// (P_i w + b_i - t_i)^2, P_i [N, n] and t_i [N] double: one mixture of the n columns for all the
// pairs (in the energy: the keypoints' image x and y). Returns w [n] and the constants.
std::pair<torch::Tensor, std::vector<double>> ConvexMixture(const std::vector<torch::Tensor>& P,
                                                            const std::vector<torch::Tensor>& t);

// The goal energy of an object task for a trained keypoint model (no projector): each keypoint
// weighs 1 - R^2 of its coordinates given the joint state (clamped to [0, 1], the largest scaled
// to 1); the reaching term, per camera view, is the distance between the mean of the keypoints
// weighted by R^2 (the arm) and the mean weighted by (1 - R^2) times their spread (the object),
// with weight reach_weight. A model with an object group (ModelConfig::object_keypoints) weighs
// that group 1 and the rest 0, and its reaching term runs from the rest (weighted by the 16th
// power of the held-out R^2 of a probe from each keypoint to the end effector's position: the
// hand) to the group (weighted by variance). With group_by_variance the group's goal-energy
// weights are its keypoints' variances too (the largest 1) instead of 1. Fit on up to 20000
// training and 10000 held-out frames. With the object's positions in the data, the energy also
// carries the object's rows and each view's keypoint units per metre (GoalEnergy::object), and
// push_offset > 0 draws the hand that many metres behind the object instead of onto it.
// ReachHand::kFit (with the object's and end effector's positions in the data) reads the group model's
// hand instead as a convex mixture of its arm keypoints plus a constant per axis
// (ConvexMixture, on the training frames), fitted to where the object's keypoints would read with
// the object under the end effector (the held-out table-to-keypoint fit above): the hand's place
// then comes in the object's own units, whichever arm keypoints carry it. A model without an
// object group keeps the joint state's arm.
// How the reaching term reads the hand: kProbe and kFit from the image (above); kState from the
// robot: the end effector's position, given with each image, moved by each planned action as the
// data's actions moved it (GoalEnergy::hand_step, hand_box), drawn to the object's place read
// from its keypoints (GoalEnergy::table) at the object's height in the data: a hand held above
// the block is as far from it as it looks. Needs the object's and end effector's positions.
enum class ReachHand { kProbe, kFit, kState };
ReachHand ReachHandNamed(const std::string& name);  // probe | fit | state, or std::invalid_argument

GoalEnergy ObjectGoalEnergy(WorldModel& model, const TrainingData& data, double reach_weight,
                            bool group_by_variance = false, double push_offset = 0,
                            ReachHand hand = ReachHand::kProbe);

// The end effector's move per action unit on each axis (metres) fitted to the data's steps
// (least squares through the origin, a_t against ee_{t+1} - ee_t), and the box it stayed in:
// {step [3], box [6] (low, high of x, then y, then z)}. ee [E, T, 3], actions [E, T, A >= 3].
std::pair<std::vector<double>, std::vector<double>> FitHandMoves(const torch::Tensor& ee, const torch::Tensor& actions);

}  // namespace jepa_mpc::world_model
