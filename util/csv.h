// One line of a comma-separated file (metrics.csv, episodes.csv) split into its cells, an empty
// last cell kept: "1,,3," has four cells, so every row has as many as its header.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace jepa_mpc::util {

inline std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.push_back("");
  return cells;
}

}  // namespace jepa_mpc::util
