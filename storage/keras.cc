#include "storage/keras.h"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "common/errors.h"
#include "storage/h5.h"
#include "common/json.h"

namespace signsweep::storage {

KerasModel parse_keras_config(const std::string& json_text, const std::string& origin) {
  const nlohmann::json config = common::parse_json(json_text, origin + ": model_config");
  KerasModel model;
  try {
    const auto& layers = config.at("config").at("layers");
    if (!layers.is_array()) throw DataError(fmt::format("{}: model_config: config.layers is not a list", origin));
    for (const auto& layer : layers) {
      KerasLayer l;
      l.class_name = layer.at("class_name").get<std::string>();
      const auto& c = layer.at("config");
      l.name = c.at("name").get<std::string>();
      if (l.class_name == "InputLayer") {
        const auto& shape = c.at("batch_input_shape");
        for (size_t i = 1; i < shape.size(); ++i)
          model.input_shape.push_back(common::json_integer(shape.at(i), origin + ": model_config: batch_input_shape", 1));
      }
      if (c.contains("padding")) l.padding = c["padding"].get<std::string>();
      if (c.contains("strides")) l.strides = common::json_integers(c["strides"], origin + ": model_config: strides", 1);
      if (c.contains("epsilon")) l.epsilon = common::json_number(c["epsilon"], origin + ": model_config: epsilon");
      model.layers.push_back(std::move(l));
    }
  } catch (const nlohmann::json::exception& e) {
    throw DataError(fmt::format("{}: unexpected model_config layout: {}", origin, e.what()));
  }
  return model;
}

KerasModel read_keras_model(const std::string& path) {
  const File f(path, OpenMode::kReadOnly);
  if (!f.has_attribute("/", "model_config") || !f.exists("/model_weights"))
    throw DataError(fmt::format("{}: not a Keras model file (no model_config attribute or /model_weights group)", path));
  KerasModel model = parse_keras_config(f.string_attribute("/", "model_config"), path);
  if (f.has_attribute("/", "keras_version")) model.keras_version = f.string_attribute("/", "keras_version");
  for (KerasLayer& l : model.layers) {
    const std::string group = "/model_weights/" + l.name + "/" + l.name;
    if (!f.exists(group)) continue;
    for (const auto& member : f.list(group)) {
      const std::string p = group + "/" + member;
      Array a;
      a.shape = f.shape(p);
      a.f32 = f.read_floats(p);
      std::string key = member;
      if (const auto colon = key.find(':'); colon != std::string::npos) key = key.substr(0, colon);
      l.weights[key] = std::move(a);
    }
  }
  return model;
}

namespace {

// model_config as parse_keras_config reads it.
std::string keras_config_json(const KerasModel& model) {
  nlohmann::json layers = nlohmann::json::array();
  bool shape_written = false;
  for (const KerasLayer& l : model.layers) {
    nlohmann::json c = {{"name", l.name}};
    if (!l.padding.empty()) c["padding"] = l.padding;
    if (!l.strides.empty()) c["strides"] = l.strides;
    if (l.epsilon != 0.0) c["epsilon"] = l.epsilon;
    if (l.class_name == "InputLayer") {
      nlohmann::json shape = nlohmann::json::array({nullptr});  // the batch dimension
      if (!shape_written)
        for (const int64_t d : model.input_shape) shape.push_back(d);
      c["batch_input_shape"] = shape;
      shape_written = true;
    }
    layers.push_back({{"class_name", l.class_name}, {"config", c}});
  }
  return nlohmann::json{{"class_name", "Model"}, {"config", {{"layers", layers}}}}.dump();
}

}  // namespace

void write_keras_model(const std::string& path, const KerasModel& model) {
  write_atomically(path, [&](File& f) {
    f.set_attribute("/", "model_config", keras_config_json(model));
    if (!model.keras_version.empty()) f.set_attribute("/", "keras_version", model.keras_version);
    f.create_group("/model_weights");
    for (const KerasLayer& l : model.layers) {
      const std::string group = "/model_weights/" + l.name + "/" + l.name;
      if (f.exists(group)) continue;  // a name used twice: read_keras_model gives both layers this group's weights
      for (const auto& [name, array] : l.weights) f.write(group + "/" + name + ":0", array.shape, array.f32.data());
    }
  });
}

}  // namespace signsweep::storage
