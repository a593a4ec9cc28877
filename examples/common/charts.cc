#include "examples/common/charts.h"

#include <cmath>
#include <stdexcept>

extern "C" {
extern const char jepa_mpc_vega_js[], jepa_mpc_vega_lite_js[], jepa_mpc_vega_embed_js[];
}

namespace jepa_mpc::tools {

namespace {

// A script's text as it may stand inside <script>...</script>.
std::string ScriptText(const char* js) {
  std::string s(js);
  for (size_t at = 0; (at = s.find("</script", at)) != std::string::npos; at += 2) s.replace(at, 2, "<\\/");
  return s;
}

nlohmann::json Base(const std::string& title) {
  return {{"$schema", "https://vega.github.io/schema/vega-lite/v5.json"},
          {"title", title},
          {"width", 520},
          {"height", 280},
          {"config", {{"axis", {{"labelFontSize", 11}, {"titleFontSize", 12}}}, {"legend", {{"labelLimit", 260}}}}}};
}

nlohmann::json RuleLayers(const std::vector<ChartRule>& rules) {
  nlohmann::json layers = nlohmann::json::array();
  if (rules.empty()) return layers;
  nlohmann::json values = nlohmann::json::array();
  for (const ChartRule& r : rules) values.push_back({{"y", r.y}, {"label", r.label}});
  layers.push_back({{"data", {{"values", values}}},
                    {"mark", {{"type", "rule"}, {"color", "#c0392b"}, {"strokeDash", {6, 4}}}},
                    {"encoding", {{"y", {{"field", "y"}, {"type", "quantitative"}}}}}});
  layers.push_back({{"data", {{"values", values}}},
                    {"mark", {{"type", "text"}, {"color", "#c0392b"}, {"align", "right"}, {"dy", -7}, {"x", "width"}}},
                    {"encoding", {{"y", {{"field", "y"}, {"type", "quantitative"}}}, {"text", {{"field", "label"}}}}}});
  return layers;
}

}  // namespace

std::string VegaScripts() {
  std::string s;
  for (const char* js : {jepa_mpc_vega_js, jepa_mpc_vega_lite_js, jepa_mpc_vega_embed_js}) {
    s += "<script>" + ScriptText(js) + "</script>\n";
  }
  return s;
}

std::string VegaChart(const std::string& id, const nlohmann::json& spec) {
  if (id.empty()) throw std::invalid_argument("chart id is empty");
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
      throw std::invalid_argument("chart id '" + id + "' has a character other than letters, digits and '-'");
    }
  }
  std::string text = spec.dump();
  for (size_t at = 0; (at = text.find("</", at)) != std::string::npos; at += 3) text.replace(at, 2, "<\\/");
  return "<div class=\"chart\" id=\"" + id + "\"></div>\n<script>vegaEmbed('#" + id + "', " + text +
         ", {actions: {export: true, source: false, compiled: false, editor: false}})"
         ".catch(e => { document.getElementById('" + id + "').textContent = 'chart failed: ' + e; });</script>\n";
}

nlohmann::json LineSpec(const std::string& title, const std::string& x_title, const std::string& y_title,
                        const std::vector<ChartPoint>& points, bool log_y, const std::vector<ChartRule>& rules) {
  nlohmann::json values = nlohmann::json::array();
  for (const ChartPoint& p : points) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y) || (log_y && p.y <= 0)) continue;
    values.push_back({{"series", p.series}, {"x", p.x}, {"y", p.y}});
  }
  nlohmann::json y = {{"field", "y"}, {"type", "quantitative"}, {"title", y_title}};
  if (log_y) y["scale"] = {{"type", "log"}};
  else y["scale"] = {{"zero", false}};
  nlohmann::json line = {
      {"params",
       {{{"name", "pick"}, {"select", {{"type", "point"}, {"fields", {"series"}}}}, {"bind", "legend"}},
        {{"name", "zoom"}, {"select", "interval"}, {"bind", "scales"}}}},
      {"mark", {{"type", "line"}, {"point", {{"size", 14}}}, {"tooltip", true}}},
      {"encoding",
       {{"x", {{"field", "x"}, {"type", "quantitative"}, {"title", x_title}}},
        {"y", y},
        {"color", {{"field", "series"}, {"type", "nominal"}, {"title", nullptr}, {"sort", nullptr},
                   {"legend", {{"orient", "right"}}}}},
        {"opacity", {{"condition", {{"param", "pick"}, {"value", 1}}}, {"value", 0.12}}},
        {"tooltip", {{{"field", "series"}, {"title", "series"}},
                     {{"field", "x"}, {"title", x_title}, {"format", ",.4~g"}},
                     {{"field", "y"}, {"title", y_title}, {"format", ",.4~g"}}}}}}};
  nlohmann::json spec = Base(title);
  spec["data"] = {{"values", values}};
  spec["layer"] = nlohmann::json::array({line});
  for (auto& r : RuleLayers(rules)) spec["layer"].push_back(r);
  return spec;
}

nlohmann::json BarSpec(const std::string& title, const std::string& y_title, const std::vector<std::string>& labels,
                       const std::vector<double>& values, const std::vector<ChartRule>& rules, double y_max) {
  if (labels.size() != values.size()) throw std::invalid_argument("a bar chart needs one value per label");
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < labels.size(); ++i) rows.push_back({{"label", labels[i]}, {"value", values[i]}});
  nlohmann::json y = {{"field", "value"}, {"type", "quantitative"}, {"title", y_title}};
  if (y_max > 0) y["scale"] = {{"domain", {0, y_max}}};
  nlohmann::json x = {{"field", "label"}, {"type", "nominal"}, {"title", nullptr}, {"sort", nullptr},
                      {"axis", {{"labelAngle", 0}}}};
  nlohmann::json bars = {{"mark", {{"type", "bar"}, {"tooltip", true}, {"width", {{"band", 0.6}}}}},
                         {"encoding", {{"x", x}, {"y", y}, {"color", {{"field", "label"}, {"type", "nominal"},
                                                                     {"legend", nullptr}, {"sort", nullptr}}}}}};
  nlohmann::json text = {{"mark", {{"type", "text"}, {"dy", -8}}},
                         {"encoding", {{"x", x}, {"y", y}, {"text", {{"field", "value"}, {"format", ",.3~f"}}}}}};
  nlohmann::json spec = Base(title);
  spec["data"] = {{"values", rows}};
  spec["layer"] = nlohmann::json::array({bars, text});
  for (auto& r : RuleLayers(rules)) spec["layer"].push_back(r);
  return spec;
}

}  // namespace jepa_mpc::tools
