// The IR: Graph, Node, Value and Attribute.
//
// Ownership follows onnx/common/ir.h: a Graph owns its Nodes and Values; every
// other reference is a non-owning pointer. Use-lists are maintained by the Graph
// and Node API alone, so passes never edit them by hand. A subgraph (If/Loop/Scan
// body) is a Graph owned by its node's attribute; its nodes may use Values of the
// enclosing graphs, and those uses are recorded on the outer Value.
//
// Graph outputs are recorded as uses too (Use::node == nullptr), which keeps them
// alive for dead-code elimination and lets replaceAllUsesWith() protect their names.
// IR objects are not copyable: copy a graph with clone().
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "onnxpress/ir/Tensor.h"
#include "onnxpress/ir/Type.h"
#include "onnxpress/support/Status.h"

namespace onnxpress {

class Graph;
class Node;

/// The default domain is spelled "" in the IR; ONNX also allows "ai.onnx". Every
/// domain the IR stores (nodes, opset imports) goes through this once.
inline std::string canonicalDomain(std::string domain) { return domain == "ai.onnx" ? std::string() : domain; }

/// One attribute of a node. The kinds are numbered as ONNX AttributeProto.AttributeType.
struct Attribute {
  enum class Kind {
    Undefined = 0, Float = 1, Int = 2, String = 3, Tensor = 4, Graph = 5, Floats = 6, Ints = 7,
    Strings = 8, Tensors = 9, Graphs = 10, SparseTensor = 11, SparseTensors = 12, TypeProto = 13,
    TypeProtos = 14,
  };
  std::string name;
  Kind kind = Kind::Undefined;
  std::string docString;
  std::string refAttrName;  // set inside function bodies: value comes from the caller

  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<onnxpress::Tensor> tensors;                  // one entry for Kind::Tensor
  std::vector<std::unique_ptr<onnxpress::Graph>> graphs;   // one entry for Kind::Graph
  std::vector<onnxpress::SparseTensor> sparseTensors;      // one entry for Kind::SparseTensor
  std::vector<onnxpress::Type> types;                      // one entry for Kind::TypeProto

  Attribute() = default;
  Attribute(Attribute&&) = default;
  Attribute& operator=(Attribute&&) = default;
  Attribute(const Attribute&) = delete;

  static Attribute makeInt(std::string name, int64_t v);
  static Attribute makeFloat(std::string name, float v);
  static Attribute makeString(std::string name, std::string v);
  static Attribute makeInts(std::string name, std::vector<int64_t> v);
  static Attribute makeFloats(std::string name, std::vector<float> v);
  static Attribute makeTensor(std::string name, onnxpress::Tensor t);
  static Attribute makeGraph(std::string name, std::unique_ptr<onnxpress::Graph> g);
  /// Deep copy; subgraphs are cloned with `owner` as their parent graph (the node's graph).
  Attribute clone(onnxpress::Graph* owner) const;
};

/// A place where a Value is read: input `index` of `node`, or, when node is null,
/// output `index` of `graph`.
struct Use {
  Node* node = nullptr;
  Graph* graph = nullptr;
  size_t index = 0;
  bool operator==(const Use&) const = default;
};

class Value {
 public:
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;

  const std::string& name() const { return name_; }
  Graph* graph() const { return graph_; }
  /// The node that computes this value, or null for inputs and initializers.
  Node* producer() const { return producer_; }
  size_t producerIndex() const { return producerIndex_; }
  const std::vector<Use>& uses() const { return uses_; }
  bool hasUses() const { return !uses_.empty(); }

  const Type& type() const { return type_; }
  Type& mutableType() { return type_; }
  void setType(Type type) { type_ = std::move(type); }
  const std::string& docString() const { return docString_; }
  void setDocString(std::string doc) { docString_ = std::move(doc); }

  /// The dense initializer bound to this value, if any.
  Tensor* initializer() { return initializer_.get(); }
  const Tensor* initializer() const { return initializer_.get(); }
  const SparseTensor* sparseInitializer() const { return sparse_.get(); }
  bool isGraphInput() const { return isInput_; }
  bool isGraphOutput() const;

 private:
  friend class Graph;
  friend class Node;
  Value(Graph* graph, std::string name) : graph_(graph), name_(std::move(name)) {}
  void removeUse(const Use& use);

  Graph* graph_;
  std::string name_;
  Node* producer_ = nullptr;
  size_t producerIndex_ = 0;
  std::vector<Use> uses_;
  Type type_;
  std::string docString_;
  std::unique_ptr<Tensor> initializer_;
  std::unique_ptr<SparseTensor> sparse_;
  bool isInput_ = false;
  std::list<std::unique_ptr<Value>>::iterator position_;
};

class Node {
 public:
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& opType() const { return opType_; }
  void setOpType(std::string op) { opType_ = std::move(op); }
  /// "" means the default ai.onnx domain; "ai.onnx" is stored as "" (see canonicalDomain).
  const std::string& domain() const { return domain_; }
  void setDomain(std::string domain) { domain_ = canonicalDomain(std::move(domain)); }
  const std::string& name() const { return name_; }
  void setName(std::string name) { name_ = std::move(name); }
  const std::string& docString() const { return docString_; }
  void setDocString(std::string doc) { docString_ = std::move(doc); }
  const std::string& overload() const { return overload_; }
  Graph* graph() const { return graph_; }
  /// "Conv 'conv1'" or "Conv #3": for error messages.
  std::string describe() const;

  /// Inputs; an omitted optional input is a null entry.
  const std::vector<Value*>& inputs() const { return inputs_; }
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  size_t numInputs() const { return inputs_.size(); }
  void setInput(size_t i, Value* v);
  void addInput(Value* v);
  void removeLastInput();

  /// Outputs; an omitted optional output is a null entry.
  const std::vector<Value*>& outputs() const { return outputs_; }
  Value* output(size_t i = 0) const { return i < outputs_.size() ? outputs_[i] : nullptr; }
  size_t numOutputs() const { return outputs_.size(); }
  /// Adds an output Value named `name` (made unique if taken); "" adds an omitted slot.
  Value* addOutput(const std::string& name);

  std::vector<Attribute>& attributes() { return attributes_; }
  const std::vector<Attribute>& attributes() const { return attributes_; }
  const Attribute* attribute(const std::string& name) const;
  Attribute* attribute(const std::string& name);
  /// Adds or replaces an attribute.
  void setAttribute(Attribute attr);
  bool removeAttribute(const std::string& name);
  int64_t intAttr(const std::string& name, int64_t fallback) const;
  float floatAttr(const std::string& name, float fallback) const;
  std::string stringAttr(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> intsAttr(const std::string& name, std::vector<int64_t> fallback = {}) const;
  /// Subgraphs held by this node's attributes (If branches, Loop/Scan bodies).
  std::vector<Graph*> subgraphs() const;

  std::string& unknownFields() { return unknownFields_; }

 private:
  friend class Graph;
  Node(Graph* graph, std::string opType, std::string domain)
      : graph_(graph), opType_(std::move(opType)), domain_(canonicalDomain(std::move(domain))) {}

  Graph* graph_;
  std::string opType_, domain_, name_, docString_, overload_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::vector<Attribute> attributes_;
  std::string unknownFields_;
  std::list<std::unique_ptr<Node>>::iterator position_;
};

/// ONNX TensorAnnotation (graph.quantization_annotation), carried through unchanged.
struct TensorAnnotation {
  std::string tensorName;
  std::vector<std::pair<std::string, std::string>> quantParameterTensorNames;
};

class Graph {
 public:
  explicit Graph(Graph* parent = nullptr) : parent_(parent) {}
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  const std::string& name() const { return name_; }
  void setName(std::string name) { name_ = std::move(name); }
  const std::string& docString() const { return docString_; }
  void setDocString(std::string doc) { docString_ = std::move(doc); }
  /// The enclosing graph for a subgraph, null for the main graph.
  Graph* parent() const { return parent_; }
  void setParent(Graph* parent) { parent_ = parent; }

  // ---- inputs, outputs, initializers -------------------------------------------------
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  Value* addInput(const std::string& name, Type type = {});
  /// Removes graph input `v` (it must be unused and not an initializer's value).
  void removeInput(Value* v);
  void addOutput(Value* v);
  void setOutput(size_t i, Value* v);
  /// Whether output `i` was declared without a type in the source file (its
  /// Value may still carry one from value_info); export reproduces that.
  bool outputDeclaredUntyped(size_t i) const { return i < untypedOutputs_.size() && untypedOutputs_[i]; }
  void setOutputDeclaredUntyped(size_t i, bool untyped) {
    untypedOutputs_.resize(outputs_.size(), false);
    untypedOutputs_[i] = untyped;
  }

  /// Initializers, in file order.
  const std::vector<Value*>& initializers() const { return initializers_; }
  /// Binds `tensor` to the value named tensor.name(), creating it if needed.
  Value* addInitializer(Tensor tensor);
  /// Detaches and destroys an initializer's tensor; the value is destroyed if unused.
  void removeInitializer(Value* v);
  const std::vector<Value*>& sparseInitializers() const { return sparse_; }
  Value* addSparseInitializer(SparseTensor tensor);
  void removeSparseInitializer(Value* v);

  /// Values that carry a value_info entry, in file order.
  const std::vector<Value*>& valueInfos() const { return valueInfos_; }
  void addValueInfo(Value* v);
  void removeValueInfo(Value* v);

  std::vector<TensorAnnotation>& quantizationAnnotations() { return annotations_; }
  const std::vector<TensorAnnotation>& quantizationAnnotations() const { return annotations_; }
  std::string& unknownFields() { return unknownFields_; }
  const std::string& unknownFields() const { return unknownFields_; }

  // ---- nodes -------------------------------------------------------------------------
  class NodeRange {
   public:
    using Iter = std::list<std::unique_ptr<Node>>::const_iterator;
    struct It {
      Iter it;
      Node* operator*() const { return it->get(); }
      It& operator++() { ++it; return *this; }
      bool operator!=(const It& o) const { return it != o.it; }
    };
    NodeRange(Iter b, Iter e) : b_(b), e_(e) {}
    It begin() const { return {b_}; }
    It end() const { return {e_}; }
   private:
    Iter b_, e_;
  };
  NodeRange nodes() const { return {nodes_.begin(), nodes_.end()}; }
  size_t numNodes() const { return nodes_.size(); }
  /// Snapshot of the node list, safe to iterate while mutating.
  std::vector<Node*> nodeList() const;

  /// Creates a node with the given inputs and `numOutputs` fresh outputs, inserted
  /// before `before` (or appended when null).
  Node* createNode(const std::string& opType, const std::vector<Value*>& inputs, size_t numOutputs,
                   Node* before = nullptr, const std::string& domain = "");
  /// Creates a node whose outputs take exactly the given names (used by import).
  Node* createNodeWithOutputs(const std::string& opType, const std::string& domain,
                              const std::vector<std::string>& outputNames);
  /// Destroys `node`; its outputs must have no uses. Its inputs' use-lists are updated.
  void destroyNode(Node* node);
  /// Moves `node` so that it sits right before `before`.
  void moveBefore(Node* node, Node* before);

  // ---- values ------------------------------------------------------------------------
  /// Looks `name` up in this graph only.
  Value* findValue(const std::string& name) const;
  /// Looks `name` up here, then in the enclosing graphs.
  Value* lookup(const std::string& name) const;
  /// A name not used in this graph or any enclosing one, derived from `base`.
  std::string uniqueName(const std::string& base) const;
  /// Renames `v`; graph inputs and outputs of the main graph are protected (returns false).
  bool rename(Value* v, const std::string& name);
  /// Creates a value with no producer (for import of forward references, rarely needed).
  Value* createDetachedValue(const std::string& name);
  /// Destroys an unused value that has no producer and no initializer.
  void destroyValue(Value* v);

  /// Redirects every use of `from` to `to`. When `from` is an output of the main
  /// graph its name is protected: `to` takes the name, which fails (returns false,
  /// nothing changed) if `to` is itself an input, output or initializer.
  bool replaceAllUsesWith(Value* from, Value* to);

  // ---- whole-graph operations ---------------------------------------------------------
  /// Deep copy. Uses of outer-scope values resolve by name in `parent` (or stay
  /// pointing at the same outer values when parent is this graph's own parent).
  std::unique_ptr<Graph> clone(Graph* parent = nullptr) const;
  /// clone() into an empty graph; `map` carries old-to-new values across nesting levels.
  void cloneInto(Graph& copy, std::unordered_map<const Value*, Value*>& map) const;
  /// Calls fn(graph) for this graph and every nested subgraph, outermost first.
  void forEachGraph(const std::function<void(Graph&)>& fn);
  void forEachGraph(const std::function<void(const Graph&)>& fn) const;
  /// Nodes in an order where every producer comes before its users, or an error
  /// naming a node on a cycle.
  Expected<std::vector<Node*>> topologicalOrder() const;
  /// Checks use-lists, scoping, unique names and acyclicity. Returns the first problem.
  Status verify() const;

 private:
  friend class Node;
  Value* newValue(const std::string& name);

  Graph* parent_;
  std::string name_, docString_;
  std::list<std::unique_ptr<Node>> nodes_;
  std::list<std::unique_ptr<Value>> values_;
  std::unordered_map<std::string, Value*> byName_;
  std::vector<Value*> inputs_, outputs_, initializers_, sparse_, valueInfos_;
  std::vector<bool> untypedOutputs_;
  std::vector<TensorAnnotation> annotations_;
  std::string unknownFields_;
  mutable uint64_t nameCounter_ = 0;
};

}  // namespace onnxpress
