#pragma once

// Option structs serialised from one list of fields. A struct lists its options once:
//   template <class Self, class F> static void Fields(Self& self, F&& f) {
//     f("latent_dim", self.latent_dim); f("keypoints", self.keypoints); ...
//   }
// and JSON in both directions (configs, checkpoints) reads that list; adding an option is one line.

#include <nlohmann/json.hpp>

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
  for (const auto& [key, value] : j.items()) {
    bool found = false;
    T::Fields(options, [&](const char* name, auto& member) {
      if (found || key != name) return;
      found = true;
      using M = std::decay_t<decltype(member)>;
      if constexpr (HasFields<M>::value) {
        FieldsFromJson(value, member, key);
      } else {
        try {
          member = value.template get<M>();
        } catch (const nlohmann::json::exception&) {
          throw std::invalid_argument(what + " option '" + key + "' has the wrong type: " + value.dump());
        }
      }
    });
    if (!found) throw std::invalid_argument("unknown " + what + " option '" + key + "'");
  }
}

}  // namespace jepa_mpc::world_model
