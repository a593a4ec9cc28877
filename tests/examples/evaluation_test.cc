// The evaluation's scoring: success at the end of the episode, first passage beside it, and the
// summary statistics, each against hand-computed answers.
#include "examples/common/evaluation.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace jepa_mpc::tools {
namespace {

TEST(ScoringTest, SuccessIsJudgedAtTheEndAndFirstPassageIsReportedBeside) {
  EpisodeResult passed_and_left;
  // Met at steps 2 and 3, left before the end: a first passage, not a success.
  ScoreEpisode({false, false, true, true, false}, {0.30, 0.10, 0.01, 0.02, 0.07}, passed_and_left);
  EXPECT_FALSE(passed_and_left.success);
  EXPECT_EQ(passed_and_left.first_success, 2);
  EXPECT_DOUBLE_EQ(passed_and_left.final_distance, 0.07);
  EXPECT_EQ(passed_and_left.steps, 4);

  EpisodeResult arrived;
  ScoreEpisode({false, false, false, true}, {0.3, 0.2, 0.1, 0.01}, arrived);
  EXPECT_TRUE(arrived.success);
  EXPECT_EQ(arrived.first_success, 3);
  EXPECT_DOUBLE_EQ(arrived.final_distance, 0.01);

  EpisodeResult never;
  ScoreEpisode({false, false}, {0.3, 0.2}, never);
  EXPECT_FALSE(never.success);
  EXPECT_EQ(never.first_success, -1);

  EpisodeResult bad;
  EXPECT_THROW(ScoreEpisode({}, {}, bad), std::invalid_argument);
  EXPECT_THROW(ScoreEpisode({true}, {0.1, 0.2}, bad), std::invalid_argument);
}

TEST(ScoringTest, SummaryRatesAndMeansOverOneMethodsEpisodes) {
  std::vector<EpisodeResult> results(5);
  // learned: success, first passage only, nothing; random: one success (must not count).
  results[0].method = results[1].method = results[2].method = "learned-cem";
  results[3].method = results[4].method = "random";
  results[0].success = true, results[0].first_success = 10, results[0].final_distance = 0.01;
  results[1].success = false, results[1].first_success = 20, results[1].final_distance = 0.05;
  results[2].success = false, results[2].first_success = -1, results[2].final_distance = 0.30;
  results[3].success = true, results[3].first_success = 1;
  results[0].plan_ms = {10, 20};
  results[1].plan_ms = {30};
  results[2].plan_ms = {40, 50};
  const MethodSummary s = Summarize("learned-cem", results);
  EXPECT_EQ(s.episodes, 3);
  EXPECT_DOUBLE_EQ(s.success_rate, 1.0 / 3);
  EXPECT_DOUBLE_EQ(s.first_passage_rate, 2.0 / 3);
  EXPECT_DOUBLE_EQ(s.mean_final_distance, 0.12);
  EXPECT_DOUBLE_EQ(s.mean_steps, 15);  // over the two episodes that passed
  EXPECT_DOUBLE_EQ(s.plan_ms_median, 30);
  EXPECT_DOUBLE_EQ(s.plan_ms_p95, 48);  // 40 + 0.8 * (50 - 40)
  EXPECT_EQ(Summarize("oracle-cem", results).episodes, 0);
}

TEST(ScoringTest, PercentilesInterpolateBetweenOrderStatistics) {
  EXPECT_DOUBLE_EQ(Percentile({}, 0.5), 0);
  EXPECT_DOUBLE_EQ(Percentile({7}, 0.95), 7);
  EXPECT_DOUBLE_EQ(Percentile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Percentile({4, 1, 3, 2}, 0.0), 1);
  EXPECT_DOUBLE_EQ(Percentile({4, 1, 3, 2}, 1.0), 4);
  EXPECT_DOUBLE_EQ(Percentile({0, 10}, 0.95), 9.5);
}

}  // namespace
}  // namespace jepa_mpc::tools
