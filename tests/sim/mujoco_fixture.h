#pragma once

#include <gtest/gtest.h>

#include "sim/mj.h"

namespace jepa_mpc::sim {

// Fails a test on any MuJoCo warning raised on the test's thread.
class MujocoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InstallMujocoHandlers();
    TakeMujocoWarnings();
  }
  void TearDown() override {
    for (const auto& w : TakeMujocoWarnings()) ADD_FAILURE() << "MuJoCo warning: " << w;
  }
};

}  // namespace jepa_mpc::sim
