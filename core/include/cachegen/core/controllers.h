// Factories of the built-in controllers, for controller_registry.cpp. Each lives in its own
// file under core/src/controllers/.
#pragma once

#include <memory>

#include "cachegen/core/controller.h"

namespace cachegen {

std::unique_ptr<Controller> make_fixed_controller(Options& options);
std::unique_ptr<Controller> make_quant_controller(Options& options);
std::unique_ptr<Controller> make_text_controller(Options& options);
std::unique_ptr<Controller> make_cachegen_controller(Options& options);
std::unique_ptr<Controller> make_oracle_controller(Options& options);

}  // namespace cachegen
