// InputFeed: the named input tensors of one inference, taken from a DATA sample
// or made up at random from the model's declared input types, plus the
// `--shape NAME=D0xD1x...` specs that settle symbolic dims.
//
// Random inputs follow the declared dtype and shape: floats uniform in [-1, 1],
// integers and bools 0 or 1 (safe as token ids and masks), from a fixed seed so
// runs repeat.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/Graph.h"
#include "onnxpress/runtime/TensorData.h"

namespace onnxpress {

using InputFeed = std::map<std::string, runtime::TensorData>;
using InputShapes = std::map<std::string, std::vector<int64_t>>;

/// Parses "NAME=1x3x224x224" (or "NAME=1,3,224,224") specs; a malformed spec is a usage error.
Expected<InputShapes> parseInputShapes(const std::vector<std::string>& specs);

/// The inputs a caller must feed: graph inputs without an initializer.
std::vector<const Value*> feedableInputs(const Graph& graph);

/// Sample `index` of every input array of `data`.
Expected<InputFeed> datasetFeed(Dataset& data, int64_t index);

/// Random tensors for `graph`'s feedable inputs. A symbolic dim needs an entry in
/// `shapes`; without one the usage error names the input and the dim.
Expected<InputFeed> randomFeed(const Graph& graph, const InputShapes& shapes, uint32_t seed = 0);

/// The shape of every tensor of `feed`.
InputShapes shapesOf(const InputFeed& feed);

/// Makes the declared types of `graph`'s inputs concrete with `shapes` (so shape
/// inference yields static shapes downstream). Fails, naming the input, when a
/// shape's rank or a fixed dim contradicts the declaration or the input does not exist.
Status bindInputShapes(Graph& graph, const InputShapes& shapes);

}  // namespace onnxpress
