#pragma once

#include <string>

namespace jepa_mpc::robots {

// Replaces every occurrence of key in text with value; returns the text.
inline std::string ReplaceAll(std::string text, const std::string& key, const std::string& value) {
  for (size_t p = text.find(key); p != std::string::npos; p = text.find(key, p + value.size())) {
    text.replace(p, key.size(), value);
  }
  return text;
}

}  // namespace jepa_mpc::robots
