#pragma once

// A name -> factory table: each plug-in axis (robots, tasks, planners, encoders) keeps one, and
// the binaries, their --help, the report and the tests read it. Built-ins are added on first use;
// an application adds its own with Add() before it asks for them (registration is not
// thread-safe; do it at start-up).

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace jepa_mpc {

template <class Entry>
class Registry {
 public:
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  // Throws std::invalid_argument for an empty name or one already taken.
  void Add(const std::string& name, Entry entry) {
    if (name.empty()) throw std::invalid_argument("a " + kind_ + " needs a name");
    if (entries_.count(name)) throw std::invalid_argument(kind_ + " '" + name + "' is already registered");
    entries_.emplace(name, std::move(entry));
    order_.push_back(name);
  }
  bool Has(const std::string& name) const { return entries_.count(name) > 0; }
  // Throws std::invalid_argument naming the known entries.
  const Entry& Get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      throw std::invalid_argument("unknown " + kind_ + " '" + name + "', expected one of: " + Known());
    }
    return it->second;
  }
  // In registration order: built-ins first.
  const std::vector<std::string>& Names() const { return order_; }
  // "a, b, c": for error messages and --help.
  std::string Known() const {
    std::string known;
    for (const auto& n : order_) known += (known.empty() ? "" : ", ") + n;
    return known;
  }

 private:
  std::string kind_;
  std::map<std::string, Entry> entries_;
  std::vector<std::string> order_;
};

}  // namespace jepa_mpc
