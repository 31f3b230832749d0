// The registries of the plug-in families whose interfaces live in core. Each is created on first
// use, which may be from a plug-in's static initializer.
#include "cachegen/core/codec.h"
#include "cachegen/core/dataset.h"
#include "cachegen/core/language_model.h"
#include "cachegen/core/network.h"

namespace cachegen {

CodecRegistry& codec_registry() {
  static CodecRegistry registry("codec");
  return registry;
}

NetworkRegistry& network_registry() {
  static NetworkRegistry registry("network model");
  return registry;
}

LanguageModelRegistry& language_model_registry() {
  static LanguageModelRegistry registry("language model");
  return registry;
}

DatasetRegistry& dataset_registry() {
  static DatasetRegistry registry("dataset");
  return registry;
}

}  // namespace cachegen
