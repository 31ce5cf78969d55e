// Precompiled for every onnxpress target (cmake/Layers.cmake): the standard and
// third-party headers that nearly every file includes through support/Status.h,
// ir/Graph.h and spdlog. Only headers that never change belong here.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
