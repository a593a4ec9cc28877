#pragma once

// Option structs serialised from one list of fields. A struct lists its options once:
//   template <class Self, class F> static void Fields(Self& self, F&& f) {
//     f("latent_dim", self.latent_dim); f("keypoints", self.keypoints); ...
//   }
// and JSON in both directions (configs, checkpoints) reads that list; adding an option is one line.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace jepa_mpc::world_model {

struct AnyField {
  template <class V>
  void operator()(const char*, V&) const {}
};
template <class T, class = void>
struct HasFields : std::false_type {};
template <class T>
struct HasFields<T, std::void_t<decltype(T::Fields(std::declval<T&>(), AnyField{}))>> : std::true_type {};

// A JSON value as an option of type M. An integer option takes an integer that fits M (a
// number like 1e60 or 2.5 is the wrong type rather than a silently wrapped or undefined value).
template <class M>
M OptionValue(const nlohmann::json& value) {
  if constexpr (std::is_integral_v<M> && !std::is_same_v<M, bool>) {
    if (value.is_number_unsigned()) {
      const auto v = value.get<uint64_t>();
      if (v <= static_cast<uint64_t>(std::numeric_limits<M>::max())) return static_cast<M>(v);
    } else if (value.is_number_integer()) {
      const auto v = value.get<int64_t>();
      if (v >= static_cast<int64_t>(std::numeric_limits<M>::min()) &&
          static_cast<uint64_t>(std::max<int64_t>(v, 0)) <= static_cast<uint64_t>(std::numeric_limits<M>::max())) {
        return static_cast<M>(v);
      }
    }
    throw std::invalid_argument("expected an integer in [" + std::to_string(std::numeric_limits<M>::min()) + ", " +
                                std::to_string(std::numeric_limits<M>::max()) + "]");
  } else {
    return value.template get<M>();
  }
}

template <class T>
nlohmann::json FieldsToJson(const T& options) {
  nlohmann::json j = nlohmann::json::object();
  T::Fields(options, [&](const char* name, const auto& value) {
    if constexpr (HasFields<std::decay_t<decltype(value)>>::value) {
      j[name] = FieldsToJson(value);
    } else {
      j[name] = value;
    }
  });
  return j;
}

// Overrides the fields present in j (a nested option struct is merged, not replaced). Throws
// std::invalid_argument naming an unknown key ("unknown <what> option 'x'") or a value of the
// wrong type.
template <class T>
void FieldsFromJson(const nlohmann::json& j, T& options, const std::string& what) {
  if (!j.is_object()) throw std::invalid_argument(what + " options must be a JSON object");
  for (const auto& item : j.items()) {
    const std::string& key = item.key();  // named, not bound: a lambda may capture them
    const nlohmann::json& value = item.value();
    bool found = false;
    T::Fields(options, [&](const char* name, auto& member) {
      if (found || key != name) return;
      found = true;
      using M = std::decay_t<decltype(member)>;
      if constexpr (HasFields<M>::value) {
        FieldsFromJson(value, member, key);
      } else {
        try {
          member = OptionValue<M>(value);
        } catch (const nlohmann::json::exception&) {
          throw std::invalid_argument(what + " option '" + key + "' has the wrong type: " + value.dump());
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument(what + " option '" + key + "' is " + value.dump() + ": " + e.what());
        }
      }
    });
    if (!found) throw std::invalid_argument("unknown " + what + " option '" + key + "'");
  }
}

}  // namespace jepa_mpc::world_model
