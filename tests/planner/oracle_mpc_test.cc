// Receding-horizon control on the true simulator (the oracle): the upper bound for the learned
// model, and a check that the planners and the task fit together.
#include <gtest/gtest.h>

#include "planner/cem.h"
#include "sim/oracle.h"

namespace jepa_mpc {
namespace {

planner::BatchCost OracleBatchCost(sim::OracleCost& oracle, const sim::Task& task) {
  return [&oracle, &task](const torch::Tensor& actions) {
    auto a = actions.contiguous().to(torch::kFloat32);
    const int n = a.size(0), h = a.size(1), d = a.size(2);
    std::vector<double> c = oracle.Evaluate(task, a.data_ptr<float>(), n, h, d);
    return torch::tensor(c, torch::kFloat64);
  };
}

// CEM on the true simulator, 10 goals; returns how many it reached.
int OracleReaches(const std::string& task_name, const sim::TaskOptions& options) {
  at::set_num_threads(1);
  auto task = sim::MakeTask(task_name, options);
  sim::OracleCost oracle(task_name, 2, options);
  planner::PlannerOptions po;
  po.horizon = 8;
  po.action_dim = task->action_dim();
  po.iterations = 3;
  planner::CemOptions co;
  co.samples = 64;
  co.elites = 8;
  int reached = 0;
  for (uint64_t episode = 0; episode < 10; ++episode) {
    task->Reset(1000 + episode);
    po.seed = episode;
    planner::Cem cem(po, co);
    torch::Tensor plan;
    for (int t = 0; t < task->info().episode_steps && !task->Success(); ++t) {
      auto r = cem.Plan(OracleBatchCost(oracle, *task),
                        plan.defined() ? planner::Planner::Shift(plan) : torch::Tensor());
      EXPECT_FALSE(r.all_nonfinite);
      plan = r.actions;
      Eigen::VectorXd a(task->action_dim());
      for (int k = 0; k < a.size(); ++k) a[k] = plan[0][k].item<float>();
      task->Step(a);
    }
    reached += task->Success();
  }
  return reached;
}

TEST(OracleMpcTest, CemOnTheTrueSimulatorReachesReach2dGoals) { EXPECT_GE(OracleReaches("reach2d", {}), 9); }

// A user's 6-DoF arm given by its MJCF alone (examples/arms/arm6.xml: joint-delta actions, goals
// drawn in joint space): the inferred workspace, action scales and goal sampling make a task
// this small planner solves (9 of 10 here; the miss is a goal behind a detour the last-step cost
// does not see).
TEST(OracleMpcTest, CemOnTheTrueSimulatorReachesGoalsWithAUsersArm) {
  EXPECT_GE(OracleReaches("reach", {256, "", ARMS_DIR "/arm6.xml", ""}), 8);
}

}  // namespace
}  // namespace jepa_mpc
